//! What a read of a faulted resource says about corrective controls (pure). The first read that sees the
//! misconfiguration is the measure (a read can still show the state from before the injection: cloud
//! configuration is eventually consistent, so reads that see none of it before that are not news). After it:
//! restored when none of the fault's misconfiguration is left; restored in part when less of it is left than at
//! any read before, each new low reported once; otherwise nothing new.

/// How much misconfiguration the first read that saw it saw, and the least seen since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measure {
    pub injected: usize,
    pub least: usize,
}

/// A read's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restoration {
    /// Nothing new: not seen yet, or as much misconfiguration as before, or more.
    Unchanged,
    /// Someone removed part of it: `remaining` of the `injected` the measure saw.
    Partial { remaining: usize, injected: usize },
    /// None of it is left, after a read saw it.
    Restored,
}

/// What reading `now` means given the measure so far, and the measure after it.
pub fn restoration(measure: Option<Measure>, now: usize) -> (Restoration, Option<Measure>) {
    match measure {
        None if now == 0 => (Restoration::Unchanged, None),
        None => (
            Restoration::Unchanged,
            Some(Measure {
                injected: now,
                least: now,
            }),
        ),
        Some(measure) if now == 0 => (Restoration::Restored, Some(measure)),
        Some(measure) if now < measure.least => (
            Restoration::Partial {
                remaining: now,
                injected: measure.injected,
            },
            Some(Measure {
                least: now,
                ..measure
            }),
        ),
        Some(measure) => (Restoration::Unchanged, Some(measure)),
    }
}

/// [`restoration`] for a poller resumed after a restart, which never saw the misconfiguration: the fault was
/// injected and not reverted, so a first read finding none of it left means someone removed it.
pub fn restoration_resumed(measure: Option<Measure>, now: usize) -> (Restoration, Option<Measure>) {
    match measure {
        None if now == 0 => (Restoration::Restored, None),
        measure => restoration(measure, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_resumed_poller_that_first_finds_nothing_left_saw_a_restoration() {
        assert_eq!(restoration_resumed(None, 0), (Restoration::Restored, None));
        let measured = Some(Measure {
            injected: 2,
            least: 2,
        });
        assert_eq!(
            restoration_resumed(None, 2),
            (Restoration::Unchanged, measured)
        );
        assert_eq!(restoration_resumed(measured, 0).0, Restoration::Restored);
        assert_eq!(
            restoration_resumed(measured, 1).0,
            Restoration::Partial {
                remaining: 1,
                injected: 2
            }
        );
    }

    fn reads(sequence: &[usize]) -> Vec<Restoration> {
        let mut measure = None;
        sequence
            .iter()
            .map(|now| {
                let (meaning, next) = restoration(measure, *now);
                measure = next;
                meaning
            })
            .collect()
    }

    #[test]
    fn reads_before_the_misconfiguration_shows_are_not_a_restore() {
        use Restoration::*;
        assert_eq!(
            reads(&[0, 0, 2, 2, 0]),
            [Unchanged, Unchanged, Unchanged, Unchanged, Restored]
        );
        assert_eq!(
            reads(&[3, 3, 1, 1, 2, 0]),
            [
                Unchanged,
                Unchanged,
                Partial {
                    remaining: 1,
                    injected: 3
                },
                Unchanged,
                Unchanged,
                Restored
            ]
        );
    }

    proptest! {
        /// Over any sequence of reads: restored only after a read saw the misconfiguration; partial restores
        /// strictly decrease and stay above zero.
        #[test]
        fn restores_follow_a_sighting_and_partials_decrease(
            sequence in prop::collection::vec(0usize..6, 1..20),
        ) {
            let meanings = reads(&sequence);
            let mut partials = Vec::new();
            for (index, meaning) in meanings.iter().enumerate() {
                match meaning {
                    Restoration::Restored => {
                        prop_assert_eq!(sequence[index], 0);
                        prop_assert!(sequence[..index].iter().any(|seen| *seen > 0));
                    }
                    Restoration::Partial { remaining, injected } => {
                        prop_assert!(*remaining > 0 && remaining < injected);
                        prop_assert_eq!(
                            Some(injected),
                            sequence[..index].iter().find(|seen| **seen > 0)
                        );
                        partials.push(*remaining);
                    }
                    Restoration::Unchanged => {}
                }
            }
            prop_assert!(partials.windows(2).all(|pair| pair[0] > pair[1]));
        }
    }
}
