//! Open enums for Mobile IP code points.
//!
//! RFC 5944 §1.9 makes unknown extension types and reply codes something a
//! node must be able to carry and act on, so a value without a name here is
//! kept as `Unknown(u8)` instead of failing the decode. Every enum converts
//! losslessly to and from `u8` and prints its specification name.

/// Declares a `u8` enum with named values and an `Unknown(u8)` arm.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $(
                $(#[$vmeta:meta])*
                $var:ident = $val:literal, $label:literal;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$vmeta])* $var, )+
            /// A value without a name in this crate, kept as received.
            Unknown(u8),
        }

        impl $ty {
            /// Every named value, in numeric order of declaration.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];

            /// The name the specification gives this value, if known.
            pub fn label(self) -> Option<&'static str> {
                match self {
                    $( $ty::$var => Some($label), )+
                    $ty::Unknown(_) => None,
                }
            }
        }

        impl From<u8> for $ty {
            fn from(raw: u8) -> Self {
                match raw {
                    $( $val => $ty::$var, )+
                    other => $ty::Unknown(other),
                }
            }
        }

        impl From<$ty> for u8 {
            fn from(code: $ty) -> u8 {
                match code {
                    $( $ty::$var => $val, )+
                    $ty::Unknown(raw) => raw,
                }
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.label() {
                    Some(label) => write!(f, "{} ({})", label, u8::from(*self)),
                    None => write!(f, "unknown ({})", u8::from(*self)),
                }
            }
        }
    };
}

pub(crate) use code_enum;
