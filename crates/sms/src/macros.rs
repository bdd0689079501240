//! Open enums for protocol code points.
//!
//! A code point that this crate does not know is data, not an error: every
//! enum built here has an `Unknown(u8)` arm, converts losslessly from and to
//! `u8`, and prints its specification name (or the hex value when unknown).

/// Declares a `u8` code-point enum with an `Unknown(u8)` fallback.
///
/// Each arm carries its value and the display name used by `Display`.
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

pub(crate) use open_enum;
