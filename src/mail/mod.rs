//! The emails that the admin sends from their own mail client: parsing the
//! invite list, the message templates, and the `mailto:` links that open a
//! pre-filled invite (every invitee in Bcc) or approved email.
//!
//! Finding invitees who are already registered is the caller's job, because
//! it needs the developer store.

mod invite_list;
mod mailto;
mod templates;

pub use invite_list::{
    parse_invite_entries, parse_invite_list, InviteList, Rejected, MAX_INVITEES, MAX_INVITE_TEXT_BYTES,
};
pub use mailto::{approved_link, invite_links, MAX_MAILTO_LEN};
pub use templates::Templates;
