//! Status conditions with Kubernetes semantics: `lastTransitionTime` moves only
//! when the status value changes.

use crate::crd::Condition;

pub const READY: &str = "Ready";
pub const ROTATION_OVERDUE: &str = "RotationOverdue";

/// What a condition should say now.
#[derive(Clone, Debug)]
pub struct Desired<'a> {
    pub type_: &'a str,
    pub status: bool,
    pub reason: &'a str,
    pub message: String,
    pub observed_generation: Option<i64>,
}

/// Set or update a condition in place.
pub fn set(conditions: &mut Vec<Condition>, want: Desired<'_>, now: &str) {
    let status = if want.status { "True" } else { "False" }.to_string();
    match conditions.iter_mut().find(|c| c.type_ == want.type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now.to_string();
            }
            c.status = status;
            c.reason = want.reason.to_string();
            c.message = want.message;
            c.observed_generation = want.observed_generation;
        }
        None => conditions.push(Condition {
            type_: want.type_.to_string(),
            status,
            reason: want.reason.to_string(),
            message: want.message,
            last_transition_time: now.to_string(),
            observed_generation: want.observed_generation,
        }),
    }
}

/// Remove a condition type.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The condition of a type, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: bool, reason: &str) -> Desired<'_> {
        Desired {
            type_: READY,
            status,
            reason,
            message: String::new(),
            observed_generation: Some(1),
        }
    }

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let mut c = Vec::new();
        set(&mut c, ready(true, "Synced"), "t1");
        set(&mut c, ready(true, "Synced"), "t2");
        assert_eq!(c[0].last_transition_time, "t1");
        set(&mut c, ready(false, "ProviderUnavailable"), "t3");
        assert_eq!(c[0].last_transition_time, "t3");
        assert_eq!(c[0].reason, "ProviderUnavailable");
        assert_eq!(c.len(), 1);
        remove(&mut c, READY);
        assert!(get(&c, READY).is_none());
    }
}
