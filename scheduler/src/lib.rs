//! scheduler (work in progress).
