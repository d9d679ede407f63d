//! The receive path: validation (RFC 5798 §7.1) and the per-state handling of adverts
//! (RFC 5798 §6.4.2, §6.4.3).

use super::output::addr_gt;
use super::{
    AddressPolicy, AuthFailure, Engine, Instant, IpAddr, LOWER_PRIO_LOG, Level, LogEvent,
    NotifyEvent, Priority, Reject, Rx, RxError, Timer, ValidationContext, Version,
};

impl Engine {
    // ===== receive path =====

    /// RFC 5798 §7.1 / RFC 3768 §7.1 receiver checks: `vrrp_proto::validate` with the
    /// instance's configuration, then the checks that need the engine's state.
    pub(super) fn validate(
        &mut self,
        now: Instant,
        i: usize,
        rx: &vrrp_proto::Received<'_>,
    ) -> Result<Rx, RxError> {
        let inst = &self.instances[i];
        let cfg = &inst.cfg;
        let source = rx.endpoints.src();
        let multicast = rx.endpoints.dst().is_multicast();
        let unicast_mode = !cfg.unicast_peers.is_empty();
        let version = cfg.version();
        let ctx = ValidationContext {
            version,
            vrid: cfg.vrid,
            // keepalived checks the TTL only in multicast mode; unicast peers have their own
            // min_ttl/max_ttl below.
            check_ttl: !unicast_mode,
            checksum_mode: cfg.checksum_mode,
            auth: cfg.auth,
            // RFC 3768 §7.1: a VRRPv2 interval MUST match. RFC 5798 §6.4.2: a VRRPv3 backup
            // adopts the master's; a mismatch is only reported below.
            interval: (version == Version::V2).then_some(cfg.advert_interval),
            addresses: inst.advert_addrs.as_proto(),
            address_policy: if cfg.knobs.skip_check_adv_addr {
                AddressPolicy::Skip
            } else {
                AddressPolicy::Report
            },
        };
        let accepted = vrrp_proto::validate(rx, &ctx)?;
        if source == cfg.primary_addr {
            return Err(RxError::OwnAddress);
        }
        if multicast == unicast_mode {
            return Err(RxError::WrongDestination);
        }
        if unicast_mode {
            match cfg.unicast_peers.iter().find(|p| p.addr == source) {
                Some(p) if !(p.min_ttl..=p.max_ttl).contains(&rx.ttl) => {
                    return Err(Reject::Ttl { received: rx.ttl }.into());
                }
                None if cfg.knobs.check_unicast_src => return Err(RxError::UnknownPeer),
                _ => {}
            }
        }
        if let Some(ah) = rx.ah {
            if let Some(&(from, last)) = inst.rx_sequence.as_deref()
                && from == source
                && ah.sequence <= last
            {
                return Err(Reject::AuthFailure(AuthFailure::AhReplay {
                    received: ah.sequence,
                    last,
                })
                .into());
            }
            match &mut self.instances[i].rx_sequence {
                Some(seen) => **seen = (source, ah.sequence),
                none => *none = Some(Box::new((source, ah.sequence))),
            }
        }
        let cfg = &self.instances[i].cfg;
        let interval = rx.advert.interval;
        if interval != cfg.advert_interval {
            let expected = Some(cfg.advert_interval);
            self.reject(
                now,
                i,
                source,
                Reject::AdvertInterval {
                    received: interval,
                    expected,
                }
                .into(),
            );
        }
        if let Some(e) = accepted.address_mismatch {
            // Modern keepalived: counted and logged, the advert is still processed.
            self.reject(now, i, source, Reject::AddressList(*e).into());
        }
        Ok(Rx {
            source,
            priority: Priority(rx.advert.priority),
            interval: interval.to_duration(),
        })
    }

    pub(super) fn reject(&mut self, now: Instant, i: usize, from: IpAddr, error: RxError) {
        let interval = self.log_interval;
        let inst = &mut self.instances[i];
        inst.counters.count(error);
        if let Some(suppressed) = inst.limiter.allow_error(now, error, interval) {
            self.log(
                Level::Warning,
                i,
                LogEvent::BadAdvert {
                    from,
                    error,
                    suppressed,
                },
            );
        }
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received" in Backup.
    pub(super) fn backup_rx(&mut self, now: Instant, i: usize, rx: Rx) {
        let prio = rx.priority;
        if prio == Priority::RELEASE {
            // The master is leaving: take over after Skew_Time.
            let at = now + self.skew(i);
            self.set_timer(i, Timer::MasterDown, at);
            return;
        }
        let inst = &mut self.instances[i];
        let lower = prio < inst.effective;
        if !lower {
            inst.preempt_until = None;
        }
        // `preempt_delay`: a lower-priority master is tolerated for that long after it is first
        // seen (as if `nopreempt`), then the RFC rule applies.
        let delayed = lower
            && !inst.cfg.preempt_delay.is_zero()
            && now
                < *inst
                    .preempt_until
                    .get_or_insert(now + inst.cfg.preempt_delay);
        if !inst.cfg.preempt || delayed || !lower {
            if inst.cfg.version() == Version::V3 {
                inst.master_adver_int = rx.interval;
            }
            inst.master_addr = Some(rx.source);
            inst.wants_master = false;
            inst.lower_from = None;
            let at = now + self.master_down_interval_memo(i);
            self.set_timer(i, Timer::MasterDown, at);
        } else {
            // Lower priority and we may preempt: discard; the down timer keeps running.
            inst.lower_from = Some(rx.source);
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received" in Master.
    pub(super) fn master_rx(&mut self, now: Instant, i: usize, rx: Rx) {
        let prio = rx.priority;
        let inst = &self.instances[i];
        let ours = inst.effective;
        if prio == Priority::RELEASE {
            // Another router held mastership and released it: assert ourselves at once and
            // re-announce so that ARP/ND caches pointing at it move to us.
            self.send_advert(i, None);
            let at = self.advert_restart(now, i);
            self.set_timer(i, Timer::Advert, at);
            let repeat = self.instances[i].cfg.garp.lower_prio_repeat;
            self.announce(i, repeat);
            return;
        }
        let wins = prio > ours || (prio == ours && addr_gt(rx.source, inst.cfg.primary_addr));
        if wins {
            if inst.cfg.knobs.higher_prio_send_advert {
                self.send_advert(i, None);
            }
            let inst = &mut self.instances[i];
            if inst.cfg.version() == Version::V3 {
                inst.master_adver_int = rx.interval;
            }
            self.log(
                Level::Info,
                i,
                LogEvent::Preempted {
                    by: rx.source,
                    priority: prio,
                },
            );
            let down = self.master_down_interval(i);
            self.enter_backup(now, i, Some(down), false);
            self.instances[i].master_addr = Some(rx.source);
            if let Some(g) = self.instances[i].group {
                self.group_backup(now, g, i);
            }
        } else {
            // Split brain or a peer that cannot hear us: re-announce so the LAN follows the
            // real master (advert unless `lower_prio_no_advert`, then a GARP/NA burst).
            let interval = self.log_interval;
            let farewell = self.instances[i].preempted == Some(rx.source);
            if farewell {
                // The master we preempted saying goodbye: expected, not a split brain.
                self.instances[i].preempted = None;
            } else if self.instances[i]
                .limiter
                .allow(now, LOWER_PRIO_LOG, interval)
                .is_some()
            {
                self.log(
                    Level::Info,
                    i,
                    LogEvent::LowerPriorityMaster {
                        from: rx.source,
                        priority: prio,
                    },
                );
                self.notify_instance(i, NotifyEvent::MasterRxLowerPriority);
            }
            let inst = &self.instances[i];
            if !inst.cfg.knobs.lower_prio_no_advert {
                self.send_advert(i, None);
                let at = self.advert_restart(now, i);
                self.set_timer(i, Timer::Advert, at);
            }
            let garp = self.instances[i].cfg.garp.clone();
            self.announce(i, garp.lower_prio_repeat);
            if let Some(d) = garp.lower_prio_delay {
                self.instances[i].pending_garp = garp.lower_prio_repeat;
                self.set_timer(i, Timer::GarpDelay, now + d);
            }
        }
    }
}
