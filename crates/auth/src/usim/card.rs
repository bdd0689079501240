//! The one interface between a terminal and a card: APDU bytes in, response
//! bytes out. [`super::SoftUsim`] implements it in memory; a PC/SC reader with a
//! real USIM can implement it too, and [`super::UsimClient`] then works on
//! either unchanged.

/// A smart card reachable by APDUs (ISO/IEC 7816-4).
pub trait Card {
    /// Why a command could not be carried to the card (reader removed,
    /// transport failure). Status words are not errors here: they are part of
    /// the response.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Send one command APDU and return the response APDU `[data] SW1 SW2`.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Self::Error>;
}

impl<C: Card + ?Sized> Card for &mut C {
    type Error = C::Error;

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Self::Error> {
        (**self).transmit(apdu)
    }
}

impl<C: Card + ?Sized> Card for Box<C> {
    type Error = C::Error;

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Self::Error> {
        (**self).transmit(apdu)
    }
}
