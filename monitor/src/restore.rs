//! What a read of a faulted resource says about corrective controls (pure): restored when none of the
//! fault's misconfiguration is left; restored in part when less of it is left than at any read before
//! (first read right after the injection), each new low reported once; otherwise nothing new.

/// A read's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restoration {
    /// Nothing new: as much misconfiguration as before, or more.
    Unchanged,
    /// Someone removed part of it: `remaining` of the `injected` the first read saw.
    Partial { remaining: usize, injected: usize },
    /// None of it is left.
    Restored,
}

/// What reading `now` means after the first read saw `injected` and the least reported since is `least`.
pub fn restoration(injected: usize, least: usize, now: usize) -> Restoration {
    if now == 0 {
        Restoration::Restored
    } else if now < least {
        Restoration::Partial {
            remaining: now,
            injected,
        }
    } else {
        Restoration::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_new_low_is_partial_and_zero_is_restored() {
        assert_eq!(restoration(2, 2, 2), Restoration::Unchanged);
        assert_eq!(restoration(2, 2, 3), Restoration::Unchanged);
        assert_eq!(
            restoration(3, 3, 1),
            Restoration::Partial {
                remaining: 1,
                injected: 3
            }
        );
        assert_eq!(restoration(3, 1, 1), Restoration::Unchanged);
        assert_eq!(restoration(3, 1, 0), Restoration::Restored);
    }

    proptest! {
        /// Over any sequence of reads, partial restores strictly decrease, stay above zero, and at most one
        /// restored is reported before the watch ends.
        #[test]
        fn partial_restores_decrease(reads in prop::collection::vec(0usize..6, 1..20)) {
            let injected = reads[0];
            let mut least = injected;
            let mut partials = Vec::new();
            for now in &reads[1..] {
                match restoration(injected, least, *now) {
                    Restoration::Restored => { prop_assert_eq!(*now, 0); break; }
                    Restoration::Partial { remaining, injected: seen } => {
                        prop_assert!(remaining > 0 && remaining < least);
                        prop_assert_eq!(seen, injected);
                        partials.push(remaining);
                        least = remaining;
                    }
                    Restoration::Unchanged => prop_assert!(*now >= least),
                }
            }
            prop_assert!(partials.windows(2).all(|pair| pair[0] > pair[1]));
        }
    }
}
