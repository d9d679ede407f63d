//! ipvs (work in progress).
