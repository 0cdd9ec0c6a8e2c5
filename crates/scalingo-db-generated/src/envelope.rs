//! [`Envelope`]: what a JSON body of the contract carries. The service wraps most objects in a
//! key named after them (`{"database_user": {...}}`, `{"database_backups": [...]}`) and its
//! documentation sometimes shows them bare; `cargo xtask codegen` reads those shapes from the
//! contract and implements this trait for every body (`generated_envelopes.rs`), so a client
//! unwraps and a server wraps without naming a wrapper or a `oneOf` variant.

/// A body of the contract and the value it carries.
pub trait Envelope: Sized {
    /// What the body carries: the one field of a wrapper, the bare value of a "wrapped or bare"
    /// answer, or the body itself.
    type Inner;

    /// The value the body carries, whichever shape it came in.
    fn into_inner(self) -> Self::Inner;

    /// The body the service sends for `inner` (wrapped, where it wraps).
    fn wrap(inner: Self::Inner) -> Self;
}

/// An answer without a body (204) carries nothing.
impl Envelope for () {
    type Inner = ();

    fn into_inner(self) -> Self::Inner {}

    fn wrap((): Self::Inner) -> Self {}
}
