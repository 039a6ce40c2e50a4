//! What `ssh-keyscan` does, and no more: the SSH transport up to the server's key-exchange reply
//! (RFC 4253 §4–§8, RFC 5656 §4, RFC 8731), which carries the host key. Nothing is encrypted or
//! authenticated before that point, so this needs an ephemeral key agreement (ring) and packet
//! framing, not an SSH library with every cipher and key type.

use ring::agreement::{ECDH_P256, EphemeralPrivateKey, X25519};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why the host key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyscanError {
    /// Connecting, reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server sent something this client does not understand.
    #[error("SSH protocol error: {0}")]
    Protocol(String),
    /// The server ended the session (SSH_MSG_DISCONNECT).
    #[error("the server disconnected: {0}")]
    Disconnected(String),
    /// The client and the server share no key-exchange or host-key algorithm.
    #[error("no common {what} algorithm (the server offers {offered})")]
    NoCommonAlgorithm {
        /// `key exchange` or `host key`.
        what: &'static str,
        /// The server's list.
        offered: String,
    },
}

const IDENTIFICATION: &[u8] = b"SSH-2.0-gardener_extension_shoot_flux\r\n";
/// Key exchanges this client can start, preferred first.
const KEX: &[&str] = &[
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
];
/// Host-key algorithms accepted (any key is read, none is verified: this is trust on first use).
const HOST_KEY: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa";
/// Offered so that the server's negotiation succeeds; never used.
const CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";
const MACS: &str = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
const COMPRESSION: &str = "none,zlib@openssh.com";

const MSG_DISCONNECT: u8 = 1;
const MSG_KEXINIT: u8 = 20;
const MSG_KEX_ECDH_INIT: u8 = 30;
const MSG_KEX_ECDH_REPLY: u8 = 31;
/// Largest packet accepted (RFC 4253 §6.1 requires 35000; servers send far less here).
const MAX_PACKET: usize = 256 * 1024;

/// The server's host key blob (SSH wire format: its first string is the key type).
///
/// # Errors
/// See [`KeyscanError`].
pub async fn host_key(host: &str, port: u16) -> Result<Vec<u8>, KeyscanError> {
    let (read, mut write) = TcpStream::connect((host, port)).await?.into_split();
    let mut read = BufReader::new(read);
    write.write_all(IDENTIFICATION).await?;
    read_identification(&mut read).await?;
    let rng = SystemRandom::new();
    write.write_all(&packet(&kexinit(&rng)?, &rng)?).await?;
    let offered = loop {
        let payload = read_packet(&mut read).await?;
        if payload.first() == Some(&MSG_KEXINIT) {
            break payload;
        }
    };
    let (kex, host_keys) = server_lists(&offered)?;
    let chosen = KEX
        .iter()
        .find(|k| kex.split(',').any(|s| s == **k))
        .ok_or_else(|| KeyscanError::NoCommonAlgorithm {
            what: "key exchange",
            offered: kex.clone(),
        })?;
    if !host_keys
        .split(',')
        .any(|s| HOST_KEY.split(',').any(|ours| ours == s))
    {
        return Err(KeyscanError::NoCommonAlgorithm {
            what: "host key",
            offered: host_keys,
        });
    }
    let algorithm = if chosen.starts_with("curve25519") {
        &X25519
    } else {
        &ECDH_P256
    };
    let ephemeral = EphemeralPrivateKey::generate(algorithm, &rng)
        .map_err(|_| KeyscanError::Protocol("no randomness for the key exchange".into()))?;
    let public = ephemeral
        .compute_public_key()
        .map_err(|_| KeyscanError::Protocol("no ephemeral public key".into()))?;
    let mut init = vec![MSG_KEX_ECDH_INIT];
    put_string(&mut init, public.as_ref());
    write.write_all(&packet(&init, &rng)?).await?;
    loop {
        let payload = read_packet(&mut read).await?;
        if payload.first() == Some(&MSG_KEX_ECDH_REPLY) {
            let mut reader = Reader(&payload[1..]);
            return reader.string().map(<[u8]>::to_vec);
        }
    }
}

/// Skips the lines a server may send before its `SSH-2.0-…` line (RFC 4253 §4.2).
async fn read_identification(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Result<(), KeyscanError> {
    for _ in 0..64 {
        let mut line = Vec::new();
        let n = (&mut *read).take(1024).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(KeyscanError::Protocol(
                "the server closed the connection before identifying itself".into(),
            ));
        }
        if line.starts_with(b"SSH-") {
            return if line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-") {
                Ok(())
            } else {
                Err(KeyscanError::Protocol(format!(
                    "unsupported protocol version {:?}",
                    String::from_utf8_lossy(&line).trim_end()
                )))
            };
        }
    }
    Err(KeyscanError::Protocol("no SSH identification line".into()))
}

/// SSH_MSG_KEXINIT with this client's lists.
fn kexinit(rng: &SystemRandom) -> Result<Vec<u8>, KeyscanError> {
    let mut payload = vec![MSG_KEXINIT];
    let mut cookie = [0u8; 16];
    rng.fill(&mut cookie)
        .map_err(|_| KeyscanError::Protocol("no randomness for the cookie".into()))?;
    payload.extend_from_slice(&cookie);
    let kex = KEX.join(",");
    for list in [
        kex.as_str(),
        HOST_KEY,
        CIPHERS,
        CIPHERS,
        MACS,
        MACS,
        COMPRESSION,
        COMPRESSION,
        "",
        "",
    ] {
        put_string(&mut payload, list.as_bytes());
    }
    payload.push(0); // first_kex_packet_follows
    payload.extend_from_slice(&0u32.to_be_bytes());
    Ok(payload)
}

/// The server's key-exchange and host-key algorithm lists from its SSH_MSG_KEXINIT.
fn server_lists(payload: &[u8]) -> Result<(String, String), KeyscanError> {
    let mut reader = Reader(payload.get(17..).unwrap_or_default());
    let kex = String::from_utf8_lossy(reader.string()?).into_owned();
    let host_keys = String::from_utf8_lossy(reader.string()?).into_owned();
    Ok((kex, host_keys))
}

/// An unencrypted binary packet (RFC 4253 §6): length, padding length, payload, random padding
/// to a multiple of 8 bytes (at least 4), no MAC.
fn packet(payload: &[u8], rng: &SystemRandom) -> Result<Vec<u8>, KeyscanError> {
    let mut padding = 8 - (5 + payload.len()) % 8;
    if padding < 4 {
        padding += 8;
    }
    let length = u32::try_from(1 + payload.len() + padding)
        .map_err(|_| KeyscanError::Protocol("packet too large".into()))?;
    let mut out = Vec::with_capacity(4 + length as usize);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(padding as u8);
    out.extend_from_slice(payload);
    let mut pad = vec![0u8; padding];
    rng.fill(&mut pad)
        .map_err(|_| KeyscanError::Protocol("no randomness for padding".into()))?;
    out.extend_from_slice(&pad);
    Ok(out)
}

/// Reads one unencrypted packet and returns its payload; a DISCONNECT becomes an error.
async fn read_packet(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Result<Vec<u8>, KeyscanError> {
    let length = read.read_u32().await? as usize;
    if !(5..=MAX_PACKET).contains(&length) {
        return Err(KeyscanError::Protocol(format!(
            "packet length {length} out of range"
        )));
    }
    let mut body = vec![0u8; length];
    read.read_exact(&mut body).await?;
    let padding = usize::from(body[0]);
    let payload = body
        .get(1..length.saturating_sub(padding))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| KeyscanError::Protocol("padding longer than the packet".into()))?
        .to_vec();
    if payload[0] == MSG_DISCONNECT {
        let mut reader = Reader(&payload[1..]);
        let _code = reader.u32();
        let reason = reader
            .string()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .unwrap_or_default();
        return Err(KeyscanError::Disconnected(reason));
    }
    Ok(payload)
}

/// Appends `bytes` as an SSH wire string (length, then bytes); the parent's key encodings use it
/// too.
pub(super) fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads SSH wire types from a payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, KeyscanError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or_else(|| KeyscanError::Protocol("truncated packet".into()))?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Result<&'a [u8], KeyscanError> {
        let length = self.u32()? as usize;
        if length > self.0.len() {
            return Err(KeyscanError::Protocol("truncated string".into()));
        }
        let (value, rest) = self.0.split_at(length);
        self.0 = rest;
        Ok(value)
    }
}

/// The key type named inside a host key blob (`ssh-ed25519`, `ssh-rsa`, ...).
pub fn key_type(blob: &[u8]) -> Option<&str> {
    Reader(blob)
        .string()
        .ok()
        .and_then(|t| std::str::from_utf8(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_padded_to_eight_bytes_with_at_least_four() {
        let rng = SystemRandom::new();
        for n in 0..40 {
            let p = packet(&vec![7u8; n], &rng).unwrap();
            assert_eq!(p.len() % 8, 0, "{n}");
            let padding = usize::from(p[4]);
            assert!((4..=11).contains(&padding), "{n}: {padding}");
            assert_eq!(
                u32::from_be_bytes(p[..4].try_into().unwrap()) as usize,
                p.len() - 4
            );
        }
    }

    #[test]
    fn reader_rejects_truncated_strings() {
        let mut blob = Vec::new();
        put_string(&mut blob, b"ssh-ed25519");
        put_string(&mut blob, &[1; 32]);
        assert_eq!(key_type(&blob), Some("ssh-ed25519"));
        assert!(Reader(&blob[..10]).string().is_err());
        assert!(Reader(&[0, 0]).u32().is_err());
    }
}
