//! SSH for private repositories: the deploy key (ed25519) and the repository host's key for
//! `known_hosts`, read as `ssh-keyscan` does (key exchange only, no authentication).

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey, PublicKeyOrCertificate};
use std::sync::{Arc, Mutex};
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
        /// The SSH library's error.
        #[source]
        source: russh::Error,
    },
    /// The key could not be written in OpenSSH format.
    #[error("could not encode an SSH key: {0}")]
    Encode(#[from] russh::keys::ssh_key::Error),
}

/// Remembers the server's key and refuses it, which ends the handshake before authentication.
struct Capture(Arc<Mutex<Option<PublicKey>>>);

impl russh::client::Handler for Capture {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => cert.signature_key().clone().into(),
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(false)
    }
}

/// The `known_hosts` line for `target`'s host key, read within `timeout`.
///
/// # Errors
/// [`HostKeyError::Timeout`] when the server does not finish the key exchange in time,
/// [`HostKeyError::Ssh`] when it cannot be reached or the handshake fails.
pub async fn known_hosts(target: &SshTarget, timeout: Duration) -> Result<String, HostKeyError> {
    let address = format!("{}:{}", target.host, target.port);
    let seen = Arc::new(Mutex::new(None));
    let config = Arc::new(russh::client::Config::default());
    let connect = russh::client::connect(
        config,
        (target.host.as_str(), target.port),
        Capture(seen.clone()),
    );
    let outcome = tokio::time::timeout(timeout, connect).await;
    let key = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (key, outcome) {
        (Some(key), _) => Ok(format!(
            "{} {}",
            target.known_hosts_pattern(),
            key.to_openssh()?.trim()
        )),
        (None, Err(_)) => Err(HostKeyError::Timeout {
            address,
            timeout: extension_framework::format::go_duration(timeout),
        }),
        (None, Ok(Err(source))) => Err(HostKeyError::Ssh { address, source }),
        // A server accepting a refused key cannot happen; treat it as a handshake failure.
        (None, Ok(Ok(_))) => Err(HostKeyError::Ssh {
            address,
            source: russh::Error::UnknownKey,
        }),
    }
}

/// A new deploy key: the private key in OpenSSH format and the public key line.
///
/// # Errors
/// When the system's random source fails or the key cannot be encoded.
pub fn generate_deploy_key() -> Result<DeployKey, HostKeyError> {
    use ring::rand::SecureRandom;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| russh::keys::ssh_key::Error::Crypto)?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    Ok(DeployKey {
        private: key.to_openssh(LineEnding::LF)?.to_string(),
        public: key.public_key().to_openssh()?,
    })
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
