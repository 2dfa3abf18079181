//! `cctoken emulator` reads every file it is given — the registry, `jwks_file` (a client's
//! or a federated issuer's), `--tls-cert`, `--tls-key`, `--tls-client-ca` and their registry
//! twins — as a regular file of at most 1 MiB: `/dev/zero`, a FIFO with no writer, a
//! directory or a huge file is a clear error naming the file and exit 2, never a hang or
//! the machine's memory. The runs are under `ulimit -v` so that a regression fails instead
//! of eating the shared machine.

mod common;

use std::path::Path;
use std::process::Command;

use common::peers::{cctoken_bin, describe, run};

/// `cctoken emulator ARGS` with at most 2 GiB of address space.
fn emulator(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" emulator \"$@\"")
        .arg(cctoken_bin())
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("CCTOKEN_CONFIG");
    run(cmd)
}

fn refused(home: &Path, args: &[&str], wants: &[&str]) {
    let out = emulator(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
    assert!(
        out.stdout.is_empty(),
        "{args:?} started: {}",
        describe(&out)
    );
    for want in wants {
        assert!(
            stderr.contains(want),
            "{args:?}: wanted {want:?} in\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

#[test]
fn files_that_are_not_small_regular_files_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let big = dir.join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 * 1024 * 1024))).unwrap();
    let fifo_s = fifo.display().to_string();
    let big_s = big.display().to_string();
    let dir_s = dir.display().to_string();

    for (path, kind) in [
        ("/dev/zero", "is a device, not a regular file"),
        (
            fifo_s.as_str(),
            "is a FIFO (named pipe), not a regular file",
        ),
        (big_s.as_str(), "is larger than 1024 KiB"),
        (dir_s.as_str(), "is a directory, not a regular file"),
    ] {
        refused(
            dir,
            &["--config", path],
            &[&format!("the registry file {path} {kind}")],
        );
    }

    let registry = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let jwks = registry(
        "jwks.toml",
        "[[clients]]\nid = \"z\"\njwks_file = \"/dev/zero\"\n",
    );
    refused(
        dir,
        &["--config", &jwks],
        &[
            &jwks,
            "`jwks_file` /dev/zero is a device, not a regular file",
        ],
    );
    let federated = registry(
        "fed.toml",
        &format!(
            "[[clients]]\nid = \"f\"\n\n[[clients.federated]]\nissuer = \"https://issuer.example\"\n\
             subject = \"s\"\naudience = \"a\"\njwks_file = \"{fifo_s}\"\n"
        ),
    );
    refused(
        dir,
        &["--config", &federated],
        &[&format!("`jwks_file` {fifo_s} is a FIFO (named pipe)")],
    );
    let tls = registry(
        "tls.toml",
        "tls_cert = \"/dev/zero\"\ntls_key = \"/dev/zero\"\n",
    );
    refused(
        dir,
        &["--config", &tls],
        &["TLS certificate /dev/zero is a device, not a regular file"],
    );

    refused(
        dir,
        &["--tls-cert", "/dev/zero", "--tls-key", "/dev/zero"],
        &["TLS certificate /dev/zero is a device, not a regular file"],
    );
}

#[test]
fn a_tls_key_or_client_ca_that_is_not_a_small_regular_file_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let ca = common::pki::Ca::new("cctoken test CA");
    ca.server().write(dir, "srv");
    let cert = dir.join("srv.pem").display().to_string();
    let key = dir.join("srv-key.pem").display().to_string();
    refused(
        dir,
        &["--tls-cert", &cert, "--tls-key", "/dev/zero"],
        &["TLS key /dev/zero is a device, not a regular file"],
    );
    let fifo = dir.join("ca-fifo");
    mkfifo(&fifo);
    let fifo_s = fifo.display().to_string();
    for ca in ["/dev/zero", fifo_s.as_str()] {
        refused(
            dir,
            &[
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--tls-client-ca",
                ca,
            ],
            &[&format!("TLS client CA {ca} is")],
        );
    }
}
