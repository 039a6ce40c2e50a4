//! SSH for private repositories: the deploy key (ed25519) and the repository host's key for
//! `known_hosts`, read as `ssh-keyscan` does (key exchange only, no authentication).

mod keyscan;

use base64::Engine;
pub use keyscan::KeyscanError;
use std::time::Duration;

/// Where a repository's SSH server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or address (without brackets).
    pub host: String,
    /// Port (22 unless the URL names one).
    pub port: u16,
}

impl SshTarget {
    /// The target of a Git URL: `ssh://[user@]host[:port]/path`, `https://host/path` (as Flux
    /// does, the host is scanned on the URL's port or 22), or scp-like `user@host:path`.
    pub fn from_url(url: &str) -> Option<Self> {
        let (authority, default_port) = match url.split_once("://") {
            Some((_, rest)) => (rest.split('/').next().unwrap_or_default(), true),
            None => (url.split_once(':')?.0, false),
        };
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':'))
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) if default_port => (host, Some(port)),
                _ => (host_port, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => 22,
        };
        Some(Self {
            host: host.into(),
            port,
        })
    }

    /// The host pattern of a `known_hosts` line: `host`, or `[host]:port` off port 22.
    pub fn known_hosts_pattern(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

/// Why a host key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// The connection or key exchange did not finish in time.
    #[error("timed out after {timeout} reading the SSH host key of {address}")]
    Timeout {
        /// `host:port`.
        address: String,
        /// The timeout, as Go prints durations.
        timeout: String,
    },
    /// The TCP connection or the SSH handshake failed before the server showed its key.
    #[error("could not read the SSH host key of {address}: {source}")]
    Ssh {
        /// `host:port`.
        address: String,
        /// What went wrong in the handshake.
        #[source]
        source: KeyscanError,
    },
    /// The system's random source failed while generating a key.
    #[error("could not generate an SSH key: the system's random source failed")]
    Random,
}

/// The `known_hosts` line for `target`'s host key, read within `timeout`.
///
/// # Errors
/// [`HostKeyError::Timeout`] when the server does not finish the key exchange in time,
/// [`HostKeyError::Ssh`] when it cannot be reached or the handshake fails.
pub async fn known_hosts(target: &SshTarget, timeout: Duration) -> Result<String, HostKeyError> {
    let address = format!("{}:{}", target.host, target.port);
    let blob =
        match tokio::time::timeout(timeout, keyscan::host_key(&target.host, target.port)).await {
            Ok(Ok(blob)) => blob,
            Ok(Err(source)) => return Err(HostKeyError::Ssh { address, source }),
            Err(_) => {
                return Err(HostKeyError::Timeout {
                    address,
                    timeout: extension_framework::format::go_duration(timeout),
                });
            }
        };
    let Some(key_type) = keyscan::key_type(&blob) else {
        return Err(HostKeyError::Ssh {
            address,
            source: KeyscanError::Protocol("the host key names no type".into()),
        });
    };
    Ok(format!(
        "{} {key_type} {}",
        target.known_hosts_pattern(),
        base64::engine::general_purpose::STANDARD.encode(&blob)
    ))
}

/// A new deploy key: the private key in OpenSSH format and the public key line.
///
/// # Errors
/// When the system's random source fails.
pub fn generate_deploy_key() -> Result<DeployKey, HostKeyError> {
    use ring::rand::SecureRandom;
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let mut seed = [0u8; 32];
    rng.fill(&mut seed).map_err(|_| HostKeyError::Random)?;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| HostKeyError::Random)?;
    let public_key = pair.public_key().as_ref();
    let mut check = [0u8; 4];
    rng.fill(&mut check).map_err(|_| HostKeyError::Random)?;
    let private = openssh_private_key(&seed, public_key, check);
    seed.fill(0);
    Ok(DeployKey {
        private,
        public: format!(
            "ssh-ed25519 {}",
            base64::engine::general_purpose::STANDARD.encode(ed25519_blob(public_key))
        ),
    })
}

/// The public key in SSH wire format: `string "ssh-ed25519", string key`.
fn ed25519_blob(public_key: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(51);
    keyscan::put_string(&mut blob, b"ssh-ed25519");
    keyscan::put_string(&mut blob, public_key);
    blob
}

/// An unencrypted `openssh-key-v1` private key (OpenSSH's PROTOCOL.key), as `ssh-keygen -t
/// ed25519 -N ''` writes it: no comment, padding 1, 2, 3… to 8 bytes, base64 in 70-column lines.
fn openssh_private_key(seed: &[u8; 32], public_key: &[u8], check: [u8; 4]) -> String {
    let mut private = Vec::with_capacity(160);
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    keyscan::put_string(&mut private, b"ssh-ed25519");
    keyscan::put_string(&mut private, public_key);
    let mut secret = Vec::with_capacity(64);
    secret.extend_from_slice(seed);
    secret.extend_from_slice(public_key);
    keyscan::put_string(&mut private, &secret);
    secret.fill(0);
    keyscan::put_string(&mut private, b"");
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut key = b"openssh-key-v1\0".to_vec();
    keyscan::put_string(&mut key, b"none");
    keyscan::put_string(&mut key, b"none");
    keyscan::put_string(&mut key, b"");
    key.extend_from_slice(&1u32.to_be_bytes());
    keyscan::put_string(&mut key, &ed25519_blob(public_key));
    keyscan::put_string(&mut key, &private);
    private.fill(0);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
    key.fill(0);
    let mut out = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    out
}

/// An SSH key pair in OpenSSH format.
pub struct DeployKey {
    /// `-----BEGIN OPENSSH PRIVATE KEY-----…`.
    pub private: String,
    /// `ssh-ed25519 AAAA…`.
    pub public: String,
}

impl std::fmt::Debug for DeployKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::PrivateKey;

    fn target(host: &str, port: u16) -> Option<SshTarget> {
        Some(SshTarget {
            host: host.into(),
            port,
        })
    }

    #[test]
    fn targets_of_git_urls() {
        for (url, want) in [
            ("ssh://git@github.com/owner/repo", target("github.com", 22)),
            (
                "ssh://git@example.org:2222/o/r.git",
                target("example.org", 2222),
            ),
            ("ssh://[::1]:2022/o/r", target("::1", 2022)),
            ("git@github.com:owner/repo.git", target("github.com", 22)),
            ("https://github.com/owner/repo", target("github.com", 22)),
            ("ssh:///path", None),
            ("no-host", None),
            ("ssh://host:notaport/x", None),
        ] {
            assert_eq!(SshTarget::from_url(url), want, "{url}");
        }
    }

    #[test]
    fn known_hosts_patterns_bracket_other_ports() {
        assert_eq!(target("h", 22).unwrap().known_hosts_pattern(), "h");
        assert_eq!(target("h", 2222).unwrap().known_hosts_pattern(), "[h]:2222");
    }

    #[test]
    fn deploy_keys_are_fresh_ed25519_pairs() {
        let a = generate_deploy_key().unwrap();
        let b = generate_deploy_key().unwrap();
        assert_ne!(a.public, b.public);
        assert!(a.public.starts_with("ssh-ed25519 "), "{}", a.public);
        let parsed = PrivateKey::from_openssh(&a.private).unwrap();
        assert_eq!(parsed.public_key().to_openssh().unwrap(), a.public);
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
