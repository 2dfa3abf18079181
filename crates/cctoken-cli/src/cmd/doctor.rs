//! `cctoken doctor`: check a profile (offline, then online unless `--offline`) or analyse a
//! pasted curl command (`--curl 'CMD'`, `--curl -` for stdin), and print the findings.
//!
//! An adapter over [`cctoken_doctor`]: options in, report out. The library says what to do
//! in [`Term`]s; [`CliWords`] says it with this command line's flags and commands, in the
//! human report and in `--json` alike. Exit codes (SPEC §5): 0 no error found, 1 errors
//! found, 2 usage ([`exit_code`]). A pasted curl command is only analysed — never run, and
//! its credentials are never sent anywhere.

use std::io::{IsTerminal as _, Read as _};
use std::time::Duration;

use anyhow::Context as _;
use cctoken::config::ProcessEnv;
use cctoken_doctor::{self as doctor, online, profile, Report, Term, Wording};

use super::Globals;
use crate::opts::ProfileOpts;

/// Arguments of `cctoken doctor`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # why does this request get 401 invalid_client? (nothing is executed or sent)
  cctoken doctor --curl 'curl -X POST https://api.mypurecloud.ie/oauth/token \\
      -d grant_type=client_credentials -u \"$ID:$SECRET\"'

  # the same from a file or the clipboard
  xclip -o | cctoken doctor --curl -

  # check a profile: secret bytes, client id, token URL, then DNS, TLS,
  # clock and one token request
  cctoken doctor -p genesys-prod

  # on invalid_client, also try the other client authentication methods
  cctoken doctor -p partner-api --probe-auth

  # why was this client assertion rejected? (aud, exp/iat vs the server's
  # clock, alg, kid)
  cctoken doctor --assertion jwt.txt --assertion-key client.jwk \\
      --client-id my-app --issuer https://idp.example.com

Exit codes: 0 no errors found, 1 errors found, 2 usage error.
Findings have stable codes (secret.trailing-newline, endpoint.api-host, ...);
--json prints {\"findings\":[{\"code\",\"severity\",\"message\",\"fix\"}]}.
Secrets appear only as fingerprints.")]
pub struct DoctorArgs {
    /// Analyse this curl command line instead of a profile ('-' reads it from stdin).
    #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
    pub curl: Option<String>,
    /// Only the checks that need no network.
    #[arg(long)]
    pub offline: bool,
    /// Machine-readable output: {"findings":[{"code","severity","message","fix"}]}.
    #[arg(long)]
    pub json: bool,
    /// After invalid_client, try the other client authentication methods (basic, basic-raw,
    /// post) and report which one the server accepts.
    #[arg(long)]
    pub probe_auth: bool,
    /// Check a client assertion (a JWT in FILE, '-' for stdin) instead of a profile: its
    /// header and claims against --client-id and --issuer/--token-url, and, unless
    /// --offline, the server's discovery and clock. The signature is never shown.
    #[arg(long, value_name = "FILE", conflicts_with = "curl")]
    pub assertion: Option<String>,
    /// With --assertion: the key it should be signed with, or the client's registered JWK
    /// Set (PEM or JWK), to hold its alg and kid against. Shown only as type, kid and
    /// thumbprint.
    #[arg(long, value_name = "FILE", requires = "assertion")]
    pub assertion_key: Option<std::path::PathBuf>,
    // After the command's own flags: a flattened group's heading (`Profile and
    // credentials`) covers everything declared after it in `--help`.
    #[command(flatten)]
    pub profile: ProfileOpts,
}

/// Timeout of each online step.
pub(super) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Run `cctoken doctor`.
pub fn run(args: DoctorArgs, globals: &Globals) -> anyhow::Result<i32> {
    let report = match (&args.curl, &args.assertion) {
        (Some(cmd), _) => doctor::diagnose_curl(&read_curl(cmd)?),
        (None, Some(file)) => super::doctor_assertion::diagnose(&args, file)?,
        (None, None) => diagnose_profile(&args, globals)?,
    };
    print(&report, args.json)?;
    Ok(exit_code(&report))
}

/// `doctor`'s exit code (SPEC §5): 1 when any finding is an error, else 0 (usage errors
/// exit 2 on the error path).
pub fn exit_code(report: &Report) -> i32 {
    i32::from(report.has_errors())
}

/// How `doctor`'s advice reads on this command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct CliWords;

impl Wording for CliWords {
    fn term(&self, term: &Term) -> String {
        match term {
            // Commands.
            Term::ProbeAuth => command("doctor --probe-auth"),
            Term::FetchToken => command("get"),
            Term::ShowProfile => command("profiles show"),
            Term::Discover => command("get --issuer"),
            Term::CxoneAccessKey => command("get --provider cxone --access-key-id ID"),
            Term::DiagnoseProfile => format!("use {} with profile options", command("doctor")),
            Term::FixProfile => format!(
                "fix the profile or flags as the message says ({} shows what is set)",
                command("profiles show NAME")
            ),
            Term::KeepFresh => format!(
                "run jobs under {} or ask {}, which keep a fresh token for as long as they run",
                command("exec"),
                command("agent")
            ),
            // Flags.
            Term::Auth(m) => format!("--auth {m}"),
            Term::UseAuth(m) => format!("set auth = \"{m}\" in the profile (or pass --auth {m})"),
            Term::RunOnline => "run without --offline".into(),
            Term::UnlessOffline => " (unless --offline)".into(),
            Term::KeepSecretBytes => "--keep-secret-bytes".into(),
            Term::SeveralScopes => "--scope a --scope b (or scopes = [\"a\", \"b\"])".into(),
            Term::TokenUrl => "--token-url".into(),
            Term::ApiBase => "--api-base URL (or api_base in the profile)".into(),
        }
    }
}

/// A `cctoken` command line as the advice shows it: `` `cctoken ARGS` ``.
fn command(args: &str) -> String {
    format!("`cctoken {args}`")
}

fn read_curl(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        errln!("cctoken: paste the curl command, then Ctrl-D");
    }
    let mut buf = Vec::new();
    stdin
        .by_ref()
        .take(doctor::paste::curl::MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)
        .context("cannot read the curl command from stdin")?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn diagnose_profile(args: &DoctorArgs, globals: &Globals) -> anyhow::Result<Report> {
    // Usage errors (a secret on argv, an unknown profile name) exit 2 via the error path.
    let settings = args.profile.settings()?;
    let stdin: Option<Box<dyn std::io::Read>> = if settings.reads_stdin() {
        Some(Box::new(std::io::stdin()))
    } else {
        None
    };
    let off = profile::diagnose_offline(
        &settings,
        &ProcessEnv,
        stdin,
        args.profile.keep_secret_bytes,
    );
    let mut report = off.report;
    if let (false, Some(config)) = (args.offline, off.config) {
        let rt = super::runtime()?;
        let opts = online::OnlineOptions {
            probe_auth: args.probe_auth,
            clock: cctoken::clock::system(),
            env: &ProcessEnv,
            timeout: STEP_TIMEOUT,
            trace: globals.trace.then(super::trace_sink),
        };
        rt.block_on(online::diagnose(&config, &opts, &mut report));
    }
    Ok(report)
}

fn print(report: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", report.to_json_pretty(&CliWords));
    } else {
        out!("{}", report.render_human(&CliWords));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cctoken_doctor::{Code, Finding, Severity};

    #[test]
    fn errors_exit_1_and_anything_less_exits_0() {
        let mut r = Report::default();
        assert_eq!(exit_code(&r), 0);
        r.push(Finding::new(Code::SecretInArgv, "m", "f").severity(Severity::Warning));
        r.push(Finding::new(Code::TokenOk, "m", "f"));
        assert_eq!(exit_code(&r), 0);
        r.push(Finding::new(Code::BodyJson, "m", "f"));
        assert_eq!(exit_code(&r), 1);
    }

    #[test]
    fn the_cli_words_advice_with_its_flags() {
        let f = Finding::new(
            Code::AuthProbe,
            doctor::Text::from("the server rejects ")
                + Term::Auth(cctoken::auth::AuthMethod::BasicRaw)
                + " but accepts "
                + Term::Auth(cctoken::auth::AuthMethod::Post),
            Term::UseAuth(cctoken::auth::AuthMethod::Post),
        );
        assert_eq!(
            f.message.render(&CliWords),
            "the server rejects --auth basic-raw but accepts --auth post"
        );
        assert_eq!(
            f.fix.render(&CliWords),
            "set auth = \"post\" in the profile (or pass --auth post)"
        );
        assert!(!f.message.to_string().contains("--"), "{}", f.message);
    }
}
