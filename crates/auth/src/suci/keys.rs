//! Home network key pairs for SUCI (TS 33.501 §6.12.2 and Annex C.3.4) and
//! the SIDF's store of them by home network public key identifier.

use core::fmt;
use std::collections::BTreeMap;

use p256::elliptic_curve::sec1::ToSec1Point;
use zeroize::Zeroizing;

use super::{Profile, Suci, SuciError, Supi};

/// A home network private key: the SIDF's half of an ECIES profile key pair.
///
/// Profile A keys are X25519 scalars (RFC 7748 §5, clamped when used);
/// profile B keys are secp256r1 scalars in `1..n`. Both are 32 octets and are
/// wiped from memory on drop.
#[derive(Clone)]
pub struct HomeNetworkPrivateKey(PrivateInner);

#[derive(Clone)]
enum PrivateInner {
    A(x25519_dalek::StaticSecret),
    B(p256::SecretKey),
}

/// A home network public key, as provisioned to the USIM (TS 31.102
/// EF SUCI_Calc_Info): 32 octets for profile A, a compressed secp256r1 point
/// (33 octets) for profile B.
#[derive(Clone, PartialEq, Eq)]
pub struct HomeNetworkPublicKey(PublicInner);

#[derive(Clone, PartialEq, Eq)]
enum PublicInner {
    A(x25519_dalek::PublicKey),
    B(p256::PublicKey),
}

/// Decode hex into a buffer of exactly `N` octets, wiped on drop.
fn hex_array<const N: usize>(hex: &str) -> Option<Zeroizing<[u8; N]>> {
    let hex = hex.trim();
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = Zeroizing::new([0u8; N]);
    super::hex_decode_into(hex, &mut *out)?;
    Some(out)
}

impl HomeNetworkPrivateKey {
    /// A private key of `profile` from its 32 octets.
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] for a profile B scalar that is zero or not
    /// below the group order. Every 32-octet string is a profile A key.
    pub fn from_bytes(
        profile: Profile,
        bytes: &[u8; 32],
    ) -> Result<HomeNetworkPrivateKey, SuciError> {
        match profile {
            Profile::A => Ok(HomeNetworkPrivateKey(PrivateInner::A(
                x25519_dalek::StaticSecret::from(*bytes),
            ))),
            Profile::B => p256::SecretKey::from_slice(bytes)
                .map(|key| HomeNetworkPrivateKey(PrivateInner::B(key)))
                .map_err(|_| SuciError::InvalidKey),
        }
    }

    /// A private key of `profile` from 64 hex digits.
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] for anything but 64 hex digits (surrounding
    /// white space aside) or an invalid profile B scalar.
    pub fn from_hex(profile: Profile, hex: &str) -> Result<HomeNetworkPrivateKey, SuciError> {
        let bytes = hex_array::<32>(hex).ok_or(SuciError::InvalidKey)?;
        HomeNetworkPrivateKey::from_bytes(profile, &bytes)
    }

    /// The ECIES profile of the key.
    pub fn profile(&self) -> Profile {
        match self.0 {
            PrivateInner::A(_) => Profile::A,
            PrivateInner::B(_) => Profile::B,
        }
    }

    /// The matching public key, to provision on USIMs.
    pub fn public_key(&self) -> HomeNetworkPublicKey {
        match &self.0 {
            PrivateInner::A(secret) => {
                HomeNetworkPublicKey(PublicInner::A(x25519_dalek::PublicKey::from(secret)))
            }
            PrivateInner::B(secret) => HomeNetworkPublicKey(PublicInner::B(secret.public_key())),
        }
    }

    /// The 32 octets of the key, for storage.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        match &self.0 {
            PrivateInner::A(secret) => Zeroizing::new(secret.to_bytes()),
            PrivateInner::B(secret) => {
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(&secret.to_bytes());
                out
            }
        }
    }

    /// The ECDH shared secret with a UE's ephemeral public key, as the
    /// scheme output carries it (TS 33.501 C.3.3): X25519 for profile A
    /// (32 octets), the x-coordinate of the cofactor DH product for profile B
    /// (compressed point, 33 octets).
    ///
    /// # Errors
    /// [`SuciError::InvalidEphemeralKey`] for a point of the wrong length,
    /// not on the curve, or (profile A) of small order, which would give an
    /// all-zero secret.
    pub fn shared_secret(&self, ephemeral_public: &[u8]) -> Result<Zeroizing<[u8; 32]>, SuciError> {
        match &self.0 {
            PrivateInner::A(secret) => {
                let point: [u8; 32] = ephemeral_public
                    .try_into()
                    .map_err(|_| SuciError::InvalidEphemeralKey)?;
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(point));
                if !shared.was_contributory() {
                    return Err(SuciError::InvalidEphemeralKey);
                }
                Ok(Zeroizing::new(shared.to_bytes()))
            }
            PrivateInner::B(secret) => {
                if ephemeral_public.len() != 33 || !matches!(ephemeral_public[0], 0x02 | 0x03) {
                    return Err(SuciError::InvalidEphemeralKey);
                }
                let point = p256::PublicKey::from_sec1_bytes(ephemeral_public)
                    .map_err(|_| SuciError::InvalidEphemeralKey)?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), point.as_affine());
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(shared.raw_secret_bytes());
                Ok(out)
            }
        }
    }
}

impl fmt::Debug for HomeNetworkPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HomeNetworkPrivateKey(profile {}, ..)", self.profile())
    }
}

impl HomeNetworkPublicKey {
    /// A public key of `profile` from its octets: 32 for profile A; a SEC1
    /// point for profile B, compressed (33) or uncompressed (65).
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] for a wrong length or a point not on the
    /// curve.
    pub fn from_bytes(profile: Profile, bytes: &[u8]) -> Result<HomeNetworkPublicKey, SuciError> {
        match profile {
            Profile::A => {
                let point: [u8; 32] = bytes.try_into().map_err(|_| SuciError::InvalidKey)?;
                Ok(HomeNetworkPublicKey(PublicInner::A(
                    x25519_dalek::PublicKey::from(point),
                )))
            }
            Profile::B => p256::PublicKey::from_sec1_bytes(bytes)
                .map(|key| HomeNetworkPublicKey(PublicInner::B(key)))
                .map_err(|_| SuciError::InvalidKey),
        }
    }

    /// A public key of `profile` from hex digits (see [`Self::from_bytes`]).
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] for bad hex or a bad key.
    pub fn from_hex(profile: Profile, hex: &str) -> Result<HomeNetworkPublicKey, SuciError> {
        let hex = hex.trim();
        if hex.len() > 2 * 65 || !hex.len().is_multiple_of(2) {
            return Err(SuciError::InvalidKey);
        }
        let mut bytes = [0u8; 65];
        let bytes = &mut bytes[..hex.len() / 2];
        super::hex_decode_into(hex, bytes).ok_or(SuciError::InvalidKey)?;
        HomeNetworkPublicKey::from_bytes(profile, bytes)
    }

    /// The ECIES profile of the key.
    pub fn profile(&self) -> Profile {
        match self.0 {
            PublicInner::A(_) => Profile::A,
            PublicInner::B(_) => Profile::B,
        }
    }

    /// The key as provisioned: 32 octets (profile A) or the compressed
    /// point, 33 octets (profile B, TS 33.501 C.3.4.2 uses compression).
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            PublicInner::A(key) => key.as_bytes().to_vec(),
            PublicInner::B(key) => key.to_sec1_point(true).as_bytes().to_vec(),
        }
    }

    /// The UE side of ECDH (TS 33.501 C.3.2): from the ephemeral private key,
    /// the ephemeral public key as sent in the scheme output (32 octets for
    /// profile A, compressed 33 for B) and the shared secret.
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] for a profile B ephemeral scalar that is zero
    /// or not below the group order, and [`SuciError::InvalidEphemeralKey`]
    /// when profile A gives an all-zero secret (a small-order HN key).
    pub fn shared_secret(
        &self,
        ephemeral_private: &[u8; 32],
    ) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), SuciError> {
        match &self.0 {
            PublicInner::A(hn) => {
                let secret = x25519_dalek::StaticSecret::from(*ephemeral_private);
                let public = x25519_dalek::PublicKey::from(&secret);
                let shared = secret.diffie_hellman(hn);
                if !shared.was_contributory() {
                    return Err(SuciError::InvalidEphemeralKey);
                }
                Ok((
                    public.as_bytes().to_vec(),
                    Zeroizing::new(shared.to_bytes()),
                ))
            }
            PublicInner::B(hn) => {
                let secret = p256::SecretKey::from_slice(ephemeral_private)
                    .map_err(|_| SuciError::InvalidKey)?;
                let public = secret.public_key().to_sec1_point(true).as_bytes().to_vec();
                let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), hn.as_affine());
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(shared.raw_secret_bytes());
                Ok((public, out))
            }
        }
    }
}

impl fmt::Debug for HomeNetworkPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HomeNetworkPublicKey({}, ", self.profile())?;
        for b in self.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The SIDF's home network private keys, by home network public key
/// identifier (0..=255, TS 24.501 §9.11.3.4), so that keys can be rotated:
/// SUCIs name the key they were concealed with.
#[derive(Clone, Default)]
pub struct HomeNetworkKeys {
    keys: BTreeMap<u8, HomeNetworkPrivateKey>,
}

impl HomeNetworkKeys {
    /// An empty store.
    pub fn new() -> HomeNetworkKeys {
        HomeNetworkKeys::default()
    }

    /// Store `key` under identifier `id`, returning the key it replaces.
    pub fn insert(&mut self, id: u8, key: HomeNetworkPrivateKey) -> Option<HomeNetworkPrivateKey> {
        self.keys.insert(id, key)
    }

    /// Store a key given as 64 hex digits.
    ///
    /// # Errors
    /// [`SuciError::InvalidKey`] as [`HomeNetworkPrivateKey::from_hex`].
    pub fn insert_hex(&mut self, id: u8, profile: Profile, hex: &str) -> Result<(), SuciError> {
        self.keys
            .insert(id, HomeNetworkPrivateKey::from_hex(profile, hex)?);
        Ok(())
    }

    /// Remove the key of `id`.
    pub fn remove(&mut self, id: u8) -> Option<HomeNetworkPrivateKey> {
        self.keys.remove(&id)
    }

    /// The key stored under `id`.
    pub fn get(&self, id: u8) -> Option<&HomeNetworkPrivateKey> {
        self.keys.get(&id)
    }

    /// The identifiers and public keys of all stored keys, in identifier
    /// order: what to provision on USIMs.
    pub fn public_keys(&self) -> impl Iterator<Item = (u8, HomeNetworkPublicKey)> + '_ {
        self.keys.iter().map(|(&id, key)| (id, key.public_key()))
    }

    /// The number of stored keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a concealed SUCI names by its home network public key
    /// identifier, checked against the SUCI's protection scheme.
    ///
    /// # Errors
    /// [`SuciError::UnsupportedScheme`] for the null scheme or a scheme
    /// without a profile here, [`SuciError::UnknownKeyId`] when no key has
    /// the identifier, [`SuciError::ProfileMismatch`] when the key is of the
    /// other profile.
    pub fn lookup(&self, suci: &Suci) -> Result<&HomeNetworkPrivateKey, SuciError> {
        let scheme = suci.scheme();
        let profile = scheme
            .profile()
            .ok_or(SuciError::UnsupportedScheme(scheme.value()))?;
        let key = self
            .get(suci.hn_key_id())
            .ok_or(SuciError::UnknownKeyId(suci.hn_key_id()))?;
        if key.profile() != profile {
            return Err(SuciError::ProfileMismatch {
                suci: profile,
                key: key.profile(),
            });
        }
        Ok(key)
    }

    /// De-conceal a SUCI with the key it names (TS 33.501 §6.12.2, the SIDF).
    /// A null-scheme SUCI needs no key.
    ///
    /// # Errors
    /// As [`HomeNetworkKeys::lookup`] and [`Suci::deconceal_with`].
    pub fn deconceal(&self, suci: &Suci) -> Result<Supi, SuciError> {
        if suci.scheme() == super::ProtectionScheme::Null {
            return suci.null_supi();
        }
        suci.deconceal_with(self.lookup(suci)?)
    }
}

impl fmt::Debug for HomeNetworkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.keys.iter().map(|(id, key)| (id, key.profile())))
            .finish()
    }
}
