//! The JSON shapes of the Admin API and the Portal API.
//!
//! Developers carry both Kong's integer `status` and its label, and `meta` as
//! a JSON string, as Kong's developer entity does.

use serde_json::{json, Value};

use crate::developer::{Counts, Developer, HistoryEntry};
use crate::portal::Invitation;
use crate::store::Page;

pub fn developer(d: &Developer) -> Value {
    json!({
        "id": d.id,
        "email": d.email,
        "full_name": d.full_name,
        "meta": Value::Object(d.meta.clone()).to_string(),
        "status": d.status.code(),
        "status_label": d.status.label(),
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "status_changed_at": d.status_changed_at,
    })
}

/// Renders a page in Kong's shape: `next` is a relative path, or `null` on
/// the last page. `path` and `query` are the request's, so that `next` keeps
/// the caller's other parameters.
/// `approved_emails` holds, for each developer of the page in order, the
/// approved email link to add as `approved_email`, if any.
pub fn page(
    page: &Page,
    approved_emails: &[Option<String>],
    path: &str,
    query: &[(String, String)],
) -> Value {
    let offset = page.next.map(|n| n.to_string());
    let next = offset.as_ref().map(|offset| {
        let mut params = form_urlencoded::Serializer::new(String::new());
        for (key, value) in query.iter().filter(|(k, _)| k != "offset") {
            params.append_pair(key, value);
        }
        params.append_pair("offset", offset);
        format!("{path}?{}", params.finish())
    });
    json!({
        "data": page
            .developers
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut item = developer(d);
                if let Some(Some(link)) = approved_emails.get(i) {
                    item["approved_email"] = json!(link);
                }
                item
            })
            .collect::<Vec<_>>(),
        "total": page.total,
        "offset": offset,
        "next": next,
    })
}

pub fn counts(c: &Counts) -> Value {
    json!({
        "approved": c.approved,
        "requested": c.requested,
        "rejected": c.rejected,
        "revoked": c.revoked,
        "total": c.total(),
    })
}

pub fn history(entries: &[HistoryEntry]) -> Value {
    let data: Vec<Value> = entries
        .iter()
        .map(|h| {
            json!({
                "from": h.from.map(|s| s.code()),
                "from_label": h.from.map(|s| s.label()),
                "to": h.to.code(),
                "to_label": h.to.label(),
                "at": h.at,
                "by": h.by,
            })
        })
        .collect();
    json!({ "data": data })
}

pub fn invitation(inv: &Invitation) -> Value {
    json!({
        "links": inv.links,
        "invited": inv.invited,
        "invalid": inv.invalid,
        "duplicates": inv.duplicates,
        "registered": inv.registered.iter().map(|r| json!({
            "id": r.id,
            "email": r.email,
            "status": r.status.code(),
            "status_label": r.status.label(),
        })).collect::<Vec<_>>(),
    })
}
