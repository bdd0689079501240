//! The FQDN policy of seed 003, steps 8-9: which name a subscriber's node
//! gets in the operator's zone. Pure functions; the caller supplies what
//! it collected (subscriber facts from the HLR, current zone contents).
//!
//! Rules, in order:
//!
//! 1. A desired name is taken when it is a valid host name (RFC 1035
//!    §2.3.1 LDH labels as relaxed by RFC 1123 §2.1: letters, digits,
//!    hyphens, no hyphen at either end, 1-63 octets a label, at most 253 in
//!    all; compared lower-case, one final dot ignored), is exactly one label
//!    below the operator zone (e.g. `matti-virtanen.sonera.net` in
//!    `sonera.net`; deeper names would let one subscriber shadow another's
//!    subtree), and is free or already held by this subscriber.
//! 2. Otherwise a name is derived from the subscriber's name, transliterated
//!    to one LDH label (`Zoë Smith` → `zoe-smith`), then from the MSISDN
//!    (digits only), each tried bare and then with `-2`, `-3`, ... until a
//!    free one (or one this subscriber already holds) is found.
//! 3. A name held by another subscriber is never given; the IMSI is never
//!    used (it must not be published in DNS).
//!
//! "Held" is decided by `owner_of`, which returns the owner of a name in
//! the zone (an IMSI, or any other tag for operator names such as `ns1`).

use core::fmt;

/// The most suffixes tried for each basis.
pub const MAX_SUFFIX: u32 = 9_999;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// The longest name as text without the final dot.
pub const MAX_NAME_LEN: usize = 253;

/// What became of the name the node asked for (sent to it in the
/// `FqdnOutcome` TLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FqdnOutcome {
    /// The node asked for no name (code 0).
    NotRequested,
    /// The desired name was granted (code 1).
    Granted,
    /// The desired name is not a valid host name (code 2).
    Invalid,
    /// The desired name is not one label below the zone (code 3).
    OutsideZone,
    /// Another subscriber (or the operator) holds the name (code 4).
    HeldByAnother,
}

impl FqdnOutcome {
    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            FqdnOutcome::NotRequested => 0,
            FqdnOutcome::Granted => 1,
            FqdnOutcome::Invalid => 2,
            FqdnOutcome::OutsideZone => 3,
            FqdnOutcome::HeldByAnother => 4,
        }
    }

    /// The outcome of a wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => FqdnOutcome::NotRequested,
            1 => FqdnOutcome::Granted,
            2 => FqdnOutcome::Invalid,
            3 => FqdnOutcome::OutsideZone,
            4 => FqdnOutcome::HeldByAnother,
            _ => return None,
        })
    }
}

/// What the HA knows about the subscriber (seed step 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriberFacts<'a> {
    /// The IMSI, the owner tag of the subscriber's names.
    pub imsi: &'a str,
    /// The MSISDN, digits with an optional leading `+`.
    pub msisdn: Option<&'a str>,
    /// The subscriber's name as the operator holds it.
    pub name: Option<&'a str>,
}

/// The chosen name and what became of the desired one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The FQDN to register, lower-case, without the final dot.
    pub fqdn: String,
    /// What became of the desired name.
    pub outcome: FqdnOutcome,
}

/// Why no name could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The operator zone is not a valid domain name.
    #[error("operator zone {0:?} is not a valid domain name")]
    InvalidZone(String),
    /// The zone is so long that no label fits below it.
    #[error("zone too long for any name below it")]
    ZoneTooLong,
    /// The desired name was not usable and the subscriber has neither a
    /// transliterable name nor an MSISDN.
    #[error("no basis to derive a name from ({0:?} for the desired name)")]
    NoBasis(FqdnOutcome),
    /// Every candidate up to [`MAX_SUFFIX`] is held by others.
    #[error("every candidate name is taken ({0:?} for the desired name)")]
    Exhausted(FqdnOutcome),
}

/// Whether `label` is one LDH label (RFC 1123 §2.1).
pub fn is_ldh_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL_LEN
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `name` lower-cased without one final dot, if it is a valid host name
/// (LDH labels, RFC 1035 §2.3.1 / RFC 1123 §2.1, at most 253 octets).
pub fn normalize_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.is_ascii() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    lower.split('.').all(is_ldh_label).then_some(lower)
}

/// The ASCII spelling of one character, for names (`None`: no spelling, the
/// character separates words).
fn spell(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// A person's name as one LDH label: lower-cased, Latin letters with
/// diacritics spelled in ASCII (`ö` → `o`, `ß` → `ss`), apostrophes dropped
/// (`O'Brien` → `obrien`), every other run of characters one hyphen, no
/// hyphen at either end, at most [`MAX_LABEL_LEN`] octets. Empty when
/// nothing spellable remains (e.g. a name in another script).
pub fn transliterate(name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let piece: Option<&str> = if c.is_ascii_alphanumeric() {
            None
        } else if matches!(c, '\'' | '’' | 'ʼ' | '\u{300}'..='\u{36f}') {
            // Apostrophes, and combining marks of decomposed (NFD) text.
            continue;
        } else {
            match spell(c) {
                Some(s) => Some(s),
                None => {
                    gap = true;
                    continue;
                }
            }
        };
        if gap && !out.is_empty() {
            out.push('-');
        }
        gap = false;
        match piece {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    cut_label(&out, MAX_LABEL_LEN).to_owned()
}

/// `label` cut to at most `max` octets without a final hyphen.
fn cut_label(label: &str, max: usize) -> &str {
    // Labels here are ASCII, so any cut is on a character boundary.
    let cut = label.get(..label.len().min(max)).unwrap_or("");
    cut.trim_end_matches('-')
}

/// The MSISDN as a label of digits (RFC 1123 §2.1 allows a leading digit).
fn msisdn_label(msisdn: &str) -> Option<String> {
    let digits = msisdn.strip_prefix('+').unwrap_or(msisdn);
    (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.to_owned())
}

/// What `desired` is worth, and the name when it is usable.
fn judge_desired<O: AsRef<str>>(
    desired: Option<&str>,
    zone: &str,
    imsi: &str,
    owner_of: &impl Fn(&str) -> Option<O>,
) -> (FqdnOutcome, Option<String>) {
    let Some(desired) = desired else {
        return (FqdnOutcome::NotRequested, None);
    };
    let Some(name) = normalize_name(desired) else {
        return (FqdnOutcome::Invalid, None);
    };
    let inside = name
        .strip_suffix(zone)
        .and_then(|head| head.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'));
    if !inside {
        return (FqdnOutcome::OutsideZone, None);
    }
    match owner_of(&name) {
        Some(owner) if owner.as_ref() != imsi => (FqdnOutcome::HeldByAnother, None),
        _ => (FqdnOutcome::Granted, Some(name)),
    }
}

/// Chooses the subscriber's FQDN in `zone` (module doc).
pub fn decide_fqdn<O: AsRef<str>>(
    desired: Option<&str>,
    zone: &str,
    subscriber: &SubscriberFacts<'_>,
    owner_of: impl Fn(&str) -> Option<O>,
) -> Result<Decision, PolicyError> {
    let zone = normalize_name(zone).ok_or_else(|| PolicyError::InvalidZone(zone.to_owned()))?;
    let (outcome, granted) = judge_desired(desired, &zone, subscriber.imsi, &owner_of);
    if let Some(fqdn) = granted {
        return Ok(Decision { fqdn, outcome });
    }
    // Room for a label: "label." + zone within MAX_NAME_LEN.
    let room = MAX_NAME_LEN
        .saturating_sub(zone.len() + 1)
        .min(MAX_LABEL_LEN);
    if room == 0 {
        return Err(PolicyError::ZoneTooLong);
    }
    let bases: Vec<String> = [
        subscriber.name.map(transliterate),
        subscriber.msisdn.and_then(msisdn_label),
    ]
    .into_iter()
    .flatten()
    .filter(|b| !b.is_empty())
    .collect();
    if bases.is_empty() {
        return Err(PolicyError::NoBasis(outcome));
    }
    for base in &bases {
        for n in 1..=MAX_SUFFIX {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let head = cut_label(base, room.saturating_sub(suffix.len()));
            if head.is_empty() {
                break;
            }
            let fqdn = format!("{head}{suffix}.{zone}");
            match owner_of(&fqdn) {
                Some(owner) if owner.as_ref() != subscriber.imsi => continue,
                _ => return Ok(Decision { fqdn, outcome }),
            }
        }
    }
    Err(PolicyError::Exhausted(outcome))
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (desired: {:?})", self.fqdn, self.outcome)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ME: &str = "001010000000001";
    const OTHER: &str = "001010000000002";

    fn facts<'a>(name: Option<&'a str>, msisdn: Option<&'a str>) -> SubscriberFacts<'a> {
        SubscriberFacts {
            imsi: ME,
            msisdn,
            name,
        }
    }

    fn zone_with(entries: &[(&str, &str)]) -> HashMap<String, String> {
        entries
            .iter()
            .map(|(n, o)| (n.to_string(), o.to_string()))
            .collect()
    }

    fn decide(
        desired: Option<&str>,
        subscriber: &SubscriberFacts<'_>,
        zone: &HashMap<String, String>,
    ) -> Result<Decision, PolicyError> {
        decide_fqdn(desired, "Sonera.NET.", subscriber, |n| zone.get(n).cloned())
    }

    #[test]
    fn valid_free_name_is_granted_lower_cased() {
        let d = decide(
            Some("Matti-Virtanen.sonera.net."),
            &facts(None, None),
            &zone_with(&[]),
        )
        .unwrap();
        assert_eq!(d.fqdn, "matti-virtanen.sonera.net");
        assert_eq!(d.outcome, FqdnOutcome::Granted);
    }

    #[test]
    fn own_name_is_granted_again() {
        let z = zone_with(&[("zoe.sonera.net", ME)]);
        let d = decide(Some("zoe.sonera.net"), &facts(None, None), &z).unwrap();
        assert_eq!(d.outcome, FqdnOutcome::Granted);
        assert_eq!(d.fqdn, "zoe.sonera.net");
    }

    #[test]
    fn held_name_falls_back_to_the_subscriber_name() {
        let z = zone_with(&[("zoe.sonera.net", OTHER)]);
        let d = decide(Some("zoe.sonera.net"), &facts(Some("Zoë Smith"), None), &z).unwrap();
        assert_eq!(d.outcome, FqdnOutcome::HeldByAnother);
        assert_eq!(d.fqdn, "zoe-smith.sonera.net");
    }

    #[test]
    fn outside_zone_and_invalid() {
        let z = zone_with(&[]);
        let f = facts(None, Some("+358401234567"));
        for (desired, outcome) in [
            ("me.example.com", FqdnOutcome::OutsideZone),
            ("sonera.net", FqdnOutcome::OutsideZone),
            ("a.b.sonera.net", FqdnOutcome::OutsideZone),
            ("xsonera.net", FqdnOutcome::OutsideZone),
            ("-bad.sonera.net", FqdnOutcome::Invalid),
            ("bad-.sonera.net", FqdnOutcome::Invalid),
            ("under_score.sonera.net", FqdnOutcome::Invalid),
            ("zoë.sonera.net", FqdnOutcome::Invalid),
            ("a..sonera.net", FqdnOutcome::Invalid),
            ("", FqdnOutcome::Invalid),
        ] {
            let d = decide(Some(desired), &f, &z).unwrap();
            assert_eq!(d.outcome, outcome, "{desired}");
            assert_eq!(d.fqdn, "358401234567.sonera.net");
        }
        let long_label = format!("{}.sonera.net", "a".repeat(64));
        assert_eq!(
            decide(Some(&long_label), &f, &z).unwrap().outcome,
            FqdnOutcome::Invalid
        );
    }

    #[test]
    fn collisions_add_suffixes_and_skip_other_holders() {
        let z = zone_with(&[
            ("zoe-smith.sonera.net", OTHER),
            ("zoe-smith-2.sonera.net", "operator"),
        ]);
        let d = decide(None, &facts(Some("Zoë Smith"), None), &z).unwrap();
        assert_eq!(d.outcome, FqdnOutcome::NotRequested);
        assert_eq!(d.fqdn, "zoe-smith-3.sonera.net");
        // A suffixed name this subscriber already holds comes back.
        let z = zone_with(&[
            ("zoe-smith.sonera.net", OTHER),
            ("zoe-smith-2.sonera.net", ME),
        ]);
        let d = decide(None, &facts(Some("Zoë Smith"), None), &z).unwrap();
        assert_eq!(d.fqdn, "zoe-smith-2.sonera.net");
    }

    #[test]
    fn msisdn_when_no_spellable_name() {
        let d = decide(
            None,
            &facts(Some("山田太郎"), Some("+81901234567")),
            &zone_with(&[]),
        )
        .unwrap();
        assert_eq!(d.fqdn, "81901234567.sonera.net");
    }

    #[test]
    fn no_basis_and_exhaustion() {
        assert_eq!(
            decide(
                Some("x.example.com"),
                &facts(None, Some("n/a")),
                &zone_with(&[])
            )
            .unwrap_err(),
            PolicyError::NoBasis(FqdnOutcome::OutsideZone)
        );
        let everything_taken = |_: &str| Some(OTHER);
        assert_eq!(
            decide_fqdn(
                None,
                "sonera.net",
                &facts(Some("Zoe"), None),
                everything_taken
            )
            .unwrap_err(),
            PolicyError::Exhausted(FqdnOutcome::NotRequested)
        );
        assert!(matches!(
            decide_fqdn(None, "bad_zone", &facts(Some("Zoe"), None), |_| None::<
                String,
            >),
            Err(PolicyError::InvalidZone(_))
        ));
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        let name = "Maximiliana Wilhelmina Bartholomäa von Hohenzollern-Sigmaringen";
        let d = decide(None, &facts(Some(name), None), &zone_with(&[])).unwrap();
        let label = d.fqdn.strip_suffix(".sonera.net").unwrap();
        assert!(is_ldh_label(label), "{label}");
        assert_eq!(label.len(), 63);
        // The suffix replaces the end of the cut name.
        let z = zone_with(&[(d.fqdn.as_str(), OTHER)]);
        let d2 = decide(None, &facts(Some(name), None), &z).unwrap();
        let label2 = d2.fqdn.strip_suffix(".sonera.net").unwrap();
        assert!(label2.ends_with("-2") && label2.len() <= 63 && is_ldh_label(label2));
        // A zone that leaves little room still yields a valid name.
        let zone = format!("{}.net", ["abcdefghij"; 22].join("."));
        let d = decide_fqdn(None, &zone, &facts(Some(name), None), |_| None::<String>).unwrap();
        assert!(d.fqdn.len() <= MAX_NAME_LEN);
        assert!(normalize_name(&d.fqdn).is_some());
    }

    #[test]
    fn transliteration() {
        for (from, to) in [
            ("Zoë Smith", "zoe-smith"),
            ("Matti Virtanen", "matti-virtanen"),
            ("Jürgen Groß", "jurgen-gross"),
            ("Seán O'Brien", "sean-obrien"),
            ("  Łukasz   Żółć  ", "lukasz-zolc"),
            ("Ærø Þór", "aero-thor"),
            ("Anne-Marie  Dupont--Élise", "anne-marie-dupont-elise"),
            ("山田太郎", ""),
            ("R2-D2", "r2-d2"),
            ("Jo\u{308}rg Mu\u{308}ller", "jorg-muller"),
        ] {
            assert_eq!(transliterate(from), to, "{from}");
        }
    }

    #[test]
    fn name_normalization() {
        assert_eq!(normalize_name("A.B.").as_deref(), Some("a.b"));
        assert_eq!(normalize_name("."), None);
        assert_eq!(normalize_name("a..b"), None);
        let at_limit = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(at_limit.len(), 253);
        assert!(normalize_name(&at_limit).is_some());
        assert!(normalize_name(&format!("{at_limit}d")).is_none());
    }

    #[test]
    fn outcome_codes() {
        for c in 0..=4 {
            assert_eq!(FqdnOutcome::from_code(c).unwrap().code(), c);
        }
        assert_eq!(FqdnOutcome::from_code(5), None);
    }
}
