//! Shared building blocks of telsec's wire codecs.
//!
//! Every protocol telsec speaks numbers its message types, information
//! elements, causes and codes with small integers, and every one of them
//! grows: a peer may send a value this build has no name for. Such a value is
//! data, not an error (smoltcp and rustls do the same), so each code point
//! enum gets an `Unknown(u8)` arm through [`open_enum!`].
#![forbid(unsafe_code)]

/// Declares a `u8` code-point enum with an `Unknown(u8)` fallback.
///
/// Each arm carries its value and the specification name used by `Display`
/// (an unknown value prints as `0x..`). The enum converts losslessly from and
/// to `u8`, lists its named values in `ALL`, and gives `name()`.
///
/// ```
/// telsec_wire::open_enum! {
///     /// A cause.
///     pub enum Cause {
///         /// First.
///         One = 1 => "one",
///     }
/// }
/// assert_eq!(Cause::from(1), Cause::One);
/// assert_eq!(u8::from(Cause::Unknown(9)), 9);
/// assert_eq!(Cause::from(9).to_string(), "0x09");
/// assert_eq!(Cause::ALL, &[Cause::One]);
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident {
            $(
                $(#[$vattr:meta])*
                $variant:ident = $value:literal => $text:literal,
            )+
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                $(#[$vattr])*
                $variant,
            )+
            /// A value this crate has no name for; kept as received.
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// Every named value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The specification name, or `None` for an unknown value.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )+
                    $name::Unknown(_) => None,
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(text) => f.write_str(text),
                    None => write!(f, "0x{:02x}", u8::from(*self)),
                }
            }
        }
    };
}
