//! The words of a finding: text with typed [`Term`]s where the advice depends on the front
//! end — choosing a client authentication method, probing every method, running the
//! online checks, keeping a token fresh — so that this library says *what* to do and each
//! front end says *how* it is done there.
//!
//! The library never names a command-line flag or command. A [`Text`] is rendered with a
//! [`Wording`]: [`Plain`] is the library's own (the profile's keys and cctoken's API
//! concepts), the CLI has its own with its flags and commands. Structured consumers read
//! the terms directly ([`Text::terms`]): which method to try, that probing would help, that
//! a check needs the network.

use std::fmt;
use std::ops::Add;

use cctoken::auth::AuthMethod;

/// Something a finding refers the user to that a front end does its own way.
///
/// Not `#[non_exhaustive]` on purpose: a new term must be worded by every front end (the
/// compiler says where).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    /// Client authentication method `m`, as the user selects it (CLI: `--auth m`).
    Auth(AuthMethod),
    /// Select `m` for this profile from now on (CLI: `auth = "m"` in the profile, or
    /// `--auth m`).
    UseAuth(AuthMethod),
    /// Try every client authentication method after `invalid_client`
    /// ([`OnlineOptions::probe_auth`](crate::online::OnlineOptions::probe_auth); CLI:
    /// `cctoken doctor --probe-auth`).
    ProbeAuth,
    /// A check needs the network and was skipped: run the online checks
    /// ([`online::diagnose`](crate::online::diagnose); CLI: without `--offline`).
    RunOnline,
    /// The condition under which the online checks run (the library: whenever the caller
    /// runs them; CLI: unless `--offline`). Words the whole parenthesis, or nothing.
    UnlessOffline,
    /// Send the secret's bytes as they are: the `keep_secret_bytes` argument of
    /// [`diagnose_offline`](crate::profile::diagnose_offline) (CLI: `--keep-secret-bytes`).
    KeepSecretBytes,
    /// cctoken fetching a token for a profile (CLI: `cctoken get`).
    FetchToken,
    /// Check a profile instead of a pasted command (CLI: `cctoken doctor` with profile
    /// options).
    DiagnoseProfile,
    /// The profile does not resolve: fix it as the message says (CLI: also the flags, and
    /// `cctoken profiles show NAME`).
    FixProfile,
    /// Where the profile's secret fingerprint is shown (CLI: `cctoken profiles show`).
    ShowProfile,
    /// How several scopes are given (`scopes = ["a", "b"]`; CLI: also `--scope a --scope b`).
    SeveralScopes,
    /// A long-running process keeps a fresh token, instead of a longer-lived token (a
    /// `TokenSource`; CLI: `cctoken exec`, `cctoken agent`).
    KeepFresh,
    /// cctoken's CXone provider with an API user's access key (CLI: `cctoken get --provider
    /// cxone --access-key-id ID`).
    CxoneAccessKey,
    /// cctoken discovering the token endpoint from an issuer (CLI: `cctoken get --issuer`).
    Discover,
    /// Giving the token URL itself, which skips discovery (CLI: `--token-url`).
    TokenUrl,
    /// Giving the API base URL itself, which skips CXone's tenant lookup (the profile's
    /// `api_base`; CLI: `--api-base`).
    ApiBase,
}

/// How a front end words the [`Term`]s.
pub trait Wording {
    /// The words for `term` in this front end. They fit where the term stands in a
    /// sentence: a noun phrase or a clause, as each variant's documentation says.
    fn term(&self, term: &Term) -> String;
}

/// The library's own words: profile keys and cctoken's concepts, no flags or commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Wording for Plain {
    fn term(&self, term: &Term) -> String {
        match term {
            Term::Auth(m) => format!("auth = \"{m}\""),
            Term::UseAuth(m) => format!("set auth = \"{m}\" in the profile"),
            Term::ProbeAuth => "the auth probe".into(),
            Term::RunOnline => "run the online checks".into(),
            Term::UnlessOffline => String::new(),
            Term::KeepSecretBytes => "keep_secret_bytes".into(),
            Term::FetchToken => "cctoken".into(),
            Term::DiagnoseProfile => "diagnose the profile".into(),
            Term::FixProfile => "fix the profile as the message says".into(),
            Term::ShowProfile => "the profile's description".into(),
            Term::SeveralScopes => "scopes = [\"a\", \"b\"]".into(),
            Term::KeepFresh => {
                "let one long-running process keep a fresh token (a TokenSource refreshes it \
                 ahead of expiry)"
                    .into()
            }
            Term::CxoneAccessKey => "cctoken's CXone provider with the access key".into(),
            Term::Discover => "cctoken, given the issuer,".into(),
            Term::TokenUrl => "the token URL".into(),
            Term::ApiBase => "api_base in the profile".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Str(String),
    Term(Term),
}

/// A finding's message or fix: text and [`Term`]s, rendered with a [`Wording`]. `Display`
/// uses [`Plain`].
///
/// Built with `+`: `Text::from("try ") + Term::Auth(m) + " next"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pieces: Vec<Piece>,
}

impl Text {
    /// The text in `wording`'s words.
    pub fn render(&self, wording: &dyn Wording) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Str(s) => out.push_str(s),
                Piece::Term(t) => out.push_str(&wording.term(t)),
            }
        }
        out
    }

    /// The terms in order: what the finding refers the user to.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Term(t) => Some(t),
            Piece::Str(_) => None,
        })
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&Plain))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self {
            pieces: vec![Piece::Str(s)],
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        s.to_owned().into()
    }
}

impl From<Term> for Text {
    fn from(t: Term) -> Self {
        Self {
            pieces: vec![Piece::Term(t)],
        }
    }
}

impl<T: Into<Text>> Add<T> for Text {
    type Output = Text;

    fn add(mut self, rhs: T) -> Text {
        for p in rhs.into().pieces {
            match (self.pieces.last_mut(), p) {
                (Some(Piece::Str(prev)), Piece::Str(s)) => prev.push_str(&s),
                (_, p) => self.pieces.push(p),
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Loud;
    impl Wording for Loud {
        fn term(&self, term: &Term) -> String {
            format!("<{term:?}>")
        }
    }

    #[test]
    fn terms_are_worded_by_the_front_end() {
        let t = Text::from("try ") + Term::Auth(AuthMethod::BasicRaw) + " (" + Term::ProbeAuth;
        let t = t + " tries every method)";
        assert_eq!(
            t.to_string(),
            "try auth = \"basic-raw\" (the auth probe tries every method)"
        );
        assert_eq!(
            t.render(&Loud),
            "try <Auth(BasicRaw)> (<ProbeAuth> tries every method)"
        );
        let terms: Vec<&Term> = t.terms().collect();
        assert_eq!(terms, [&Term::Auth(AuthMethod::BasicRaw), &Term::ProbeAuth]);
    }

    #[test]
    fn adjacent_text_merges_so_equal_findings_compare_equal() {
        assert_eq!(Text::from("a") + "b", Text::from("ab"));
        assert_eq!(Text::from("x").terms().count(), 0);
    }
}
