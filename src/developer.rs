//! Developers, their statuses, and the table of allowed status changes.

use serde::Serialize;

use crate::error::{Error, Result};

/// A developer's status. The integers are Kong's, so scripts written for
/// Kong's Admin API keep working; Kong calls `Requested` `PENDING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Approved = 0,
    Requested = 1,
    Rejected = 2,
    Revoked = 3,
}

/// The outcome of a status change that the transition table allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The developer already has the target status; nothing is written.
    Unchanged,
    /// The status moves from the first to the second value.
    Moved(Status, Status),
}

const ACCEPTED_STATUSES: &str =
    "0 or approved, 1 or requested (alias pending), 2 or rejected, 3 or revoked";

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Approved,
        Status::Requested,
        Status::Rejected,
        Status::Revoked,
    ];

    /// Returns Kong's integer for the status.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Returns the lowercase label used in the API and in messages.
    pub fn label(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Requested => "requested",
            Status::Rejected => "rejected",
            Status::Revoked => "revoked",
        }
    }

    /// Returns the uppercase label Kong shows at the gateway (`REVOKED`).
    pub fn kong_label(self) -> &'static str {
        match self {
            Status::Approved => "APPROVED",
            Status::Requested => "PENDING",
            Status::Rejected => "REJECTED",
            Status::Revoked => "REVOKED",
        }
    }

    pub fn from_code(code: i64) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Parses a status given as Kong's integer or as a label in any case.
    pub fn parse(input: &str) -> Result<Status> {
        let trimmed = input.trim();
        let found = match trimmed.to_ascii_lowercase().as_str() {
            "0" | "approved" => Some(Status::Approved),
            "1" | "requested" | "pending" => Some(Status::Requested),
            "2" | "rejected" => Some(Status::Rejected),
            "3" | "revoked" => Some(Status::Revoked),
            _ => None,
        };
        found.ok_or_else(|| {
            Error::invalid(format!(
                "invalid status '{}' (accepted: {ACCEPTED_STATUSES})",
                input.escape_debug()
            ))
        })
    }

    /// Returns the statuses a developer in this status may move to.
    pub fn allowed_targets(self) -> &'static [Status] {
        match self {
            Status::Requested => &[Status::Approved, Status::Rejected],
            Status::Approved => &[Status::Revoked],
            Status::Revoked => &[Status::Approved],
            Status::Rejected => &[Status::Approved],
        }
    }

    /// Checks a change against the transition table. A change to the current
    /// status succeeds and changes nothing. A change the table does not allow
    /// is a conflict that names the current status and the allowed targets.
    pub fn change_to(self, target: Status, who: &str) -> Result<Change> {
        if self == target {
            return Ok(Change::Unchanged);
        }
        if self.allowed_targets().contains(&target) {
            return Ok(Change::Moved(self, target));
        }
        let allowed: Vec<&str> = self.allowed_targets().iter().map(|s| s.label()).collect();
        let article = if self == Status::Approved { "an" } else { "a" };
        Err(Error::conflict(format!(
            "cannot change the status of '{who}' from {} to {}: \
             {article} {} developer can only become {}",
            self.label(),
            target.label(),
            self.label(),
            allowed.join(" or ")
        )))
    }
}

/// A developer as the store keeps it. Credentials are stored apart and never
/// leave the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Developer {
    pub id: String,
    /// The address as the developer first spelled it.
    pub email: String,
    pub full_name: String,
    /// Registration fields beyond email and full name, as a JSON object.
    pub meta: serde_json::Map<String, serde_json::Value>,
    pub status: Status,
    /// Unix time in seconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub status_changed_at: i64,
}

/// One status change, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// `None` for the status a developer was created with.
    pub from: Option<Status>,
    pub to: Status,
    /// Unix time in seconds.
    pub at: i64,
    /// The author of the change, when known: an admin name, `registration`,
    /// or `registration (portal_auto_approve = on)`.
    pub by: Option<String>,
}

/// Developers per status, for the tabs of the Developers page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub approved: u64,
    pub requested: u64,
    pub rejected: u64,
    pub revoked: u64,
}

impl Counts {
    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Approved => self.approved += n,
            Status::Requested => self.requested += n,
            Status::Rejected => self.rejected += n,
            Status::Revoked => self.revoked += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.approved + self.requested + self.rejected + self.revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn codes_and_labels_match_kong() {
        let seen: Vec<(i64, &str, &str)> = Status::ALL
            .iter()
            .map(|s| (s.code(), s.label(), s.kong_label()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (0, "approved", "APPROVED"),
                (1, "requested", "PENDING"),
                (2, "rejected", "REJECTED"),
                (3, "revoked", "REVOKED"),
            ]
        );
    }

    #[test]
    fn parse_accepts_codes_labels_and_pending() {
        assert_eq!(Status::parse("0").unwrap(), Status::Approved);
        assert_eq!(Status::parse(" 3 ").unwrap(), Status::Revoked);
        assert_eq!(Status::parse("Rejected").unwrap(), Status::Rejected);
        assert_eq!(Status::parse("PENDING").unwrap(), Status::Requested);
        assert_eq!(Status::parse("requested").unwrap(), Status::Requested);
    }

    #[test]
    fn parse_rejects_unknown_status_with_accepted_list() {
        let err = Status::parse("4").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            "invalid status '4' (accepted: 0 or approved, 1 or requested \
             (alias pending), 2 or rejected, 3 or revoked)"
        );
        assert!(Status::parse("").is_err());
        assert!(Status::parse("-1").is_err());
        assert!(Status::parse("invited").is_err());
    }

    #[test]
    fn parse_escapes_control_characters_in_message() {
        let err = Status::parse("x\r\ny").unwrap_err();
        assert!(err.message.contains("'x\\r\\ny'"), "{}", err.message);
    }

    /// The whole table: every pair of statuses, with the expected outcome.
    #[test]
    fn transition_table_in_full() {
        use Status::*;
        let allowed = [
            (Requested, Approved),
            (Requested, Rejected),
            (Approved, Revoked),
            (Revoked, Approved),
            (Rejected, Approved),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                let outcome = from.change_to(to, "dev@example.com");
                if from == to {
                    assert_eq!(outcome.unwrap(), Change::Unchanged, "{from:?} -> {to:?}");
                } else if allowed.contains(&(from, to)) {
                    assert_eq!(outcome.unwrap(), Change::Moved(from, to), "{from:?} -> {to:?}");
                } else {
                    let err = outcome.unwrap_err();
                    assert_eq!(err.kind, ErrorKind::Conflict, "{from:?} -> {to:?}");
                }
            }
        }
    }

    #[test]
    fn forbidden_change_names_current_status_and_targets() {
        let err = Status::Requested
            .change_to(Status::Revoked, "dev@example.com")
            .unwrap_err();
        assert_eq!(
            err.message,
            "cannot change the status of 'dev@example.com' from requested to revoked: \
             a requested developer can only become approved or rejected"
        );
    }

    #[test]
    fn counts_add_up() {
        let mut counts = Counts::default();
        counts.add(Status::Approved, 2);
        counts.add(Status::Revoked, 1);
        assert_eq!(counts.approved, 2);
        assert_eq!(counts.revoked, 1);
        assert_eq!(counts.total(), 3);
    }
}
