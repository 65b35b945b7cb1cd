//! NOTIFICATION error codes and subcodes (RFC 4271 §4.5 and the IANA "BGP
//! Error (Notification) Codes" and "Subcodes" registries), as constants and
//! as the names `podroute decode` and logs show.

/// Error codes (RFC 4271 §4.5, RFC 6608, RFC 7313, RFC 9687).
pub mod code {
    /// 1: Message Header Error (RFC 4271 §6.1).
    pub const MESSAGE_HEADER_ERROR: u8 = 1;
    /// 2: OPEN Message Error (RFC 4271 §6.2).
    pub const OPEN_MESSAGE_ERROR: u8 = 2;
    /// 3: UPDATE Message Error (RFC 4271 §6.3).
    pub const UPDATE_MESSAGE_ERROR: u8 = 3;
    /// 4: Hold Timer Expired (RFC 4271 §6.5).
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// 5: Finite State Machine Error (RFC 4271 §6.6, RFC 6608).
    pub const FSM_ERROR: u8 = 5;
    /// 6: Cease (RFC 4271 §6.7, RFC 4486).
    pub const CEASE: u8 = 6;
    /// 7: ROUTE-REFRESH Message Error (RFC 7313 §5).
    pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
    /// 8: Send Hold Timer Expired (RFC 9687 §3).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Subcodes, one module per error code.
pub mod subcode {
    /// Subcode 0 under any code: no more specific reason (RFC 4271 §4.5).
    pub const UNSPECIFIC: u8 = 0;

    /// Message Header Error subcodes (RFC 4271 §6.1).
    pub mod header {
        /// 1: the marker is not all ones.
        pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
        /// 2: the length field is out of range for the message type.
        pub const BAD_MESSAGE_LENGTH: u8 = 2;
        /// 3: the type octet is not a known message type.
        pub const BAD_MESSAGE_TYPE: u8 = 3;
    }

    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
    pub mod open {
        /// 1: Unsupported Version Number.
        pub const UNSUPPORTED_VERSION: u8 = 1;
        /// 2: Bad Peer AS.
        pub const BAD_PEER_AS: u8 = 2;
        /// 3: Bad BGP Identifier.
        pub const BAD_BGP_IDENTIFIER: u8 = 3;
        /// 4: Unsupported Optional Parameter.
        pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
        /// 6: Unacceptable Hold Time.
        pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
        /// 7: Unsupported Capability (RFC 5492 §5).
        pub const UNSUPPORTED_CAPABILITY: u8 = 7;
        /// 11: Role Mismatch (RFC 9234 §4.2).
        pub const ROLE_MISMATCH: u8 = 11;
    }

    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    pub mod update {
        /// 1: Malformed Attribute List.
        pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
        /// 2: Unrecognized Well-known Attribute.
        pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
        /// 3: Missing Well-known Attribute.
        pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
        /// 4: Attribute Flags Error.
        pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
        /// 5: Attribute Length Error.
        pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
        /// 6: Invalid ORIGIN Attribute.
        pub const INVALID_ORIGIN: u8 = 6;
        /// 8: Invalid NEXT_HOP Attribute.
        pub const INVALID_NEXT_HOP: u8 = 8;
        /// 9: Optional Attribute Error.
        pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
        /// 10: Invalid Network Field.
        pub const INVALID_NETWORK_FIELD: u8 = 10;
        /// 11: Malformed AS_PATH.
        pub const MALFORMED_AS_PATH: u8 = 11;
    }

    /// Finite State Machine Error subcodes (RFC 6608 §3).
    pub mod fsm {
        /// 1: Receive Unexpected Message in OpenSent State.
        pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
        /// 2: Receive Unexpected Message in OpenConfirm State.
        pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
        /// 3: Receive Unexpected Message in Established State.
        pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
    }

    /// Cease subcodes (RFC 4486 §4, RFC 8538, RFC 9384).
    pub mod cease {
        /// 1: Maximum Number of Prefixes Reached.
        pub const MAXIMUM_PREFIXES: u8 = 1;
        /// 2: Administrative Shutdown (carries an RFC 9003 communication).
        pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
        /// 3: Peer De-configured.
        pub const PEER_DECONFIGURED: u8 = 3;
        /// 4: Administrative Reset (carries an RFC 9003 communication).
        pub const ADMINISTRATIVE_RESET: u8 = 4;
        /// 5: Connection Rejected.
        pub const CONNECTION_REJECTED: u8 = 5;
        /// 6: Other Configuration Change.
        pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
        /// 7: Connection Collision Resolution.
        pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
        /// 8: Out of Resources.
        pub const OUT_OF_RESOURCES: u8 = 8;
        /// 9: Hard Reset (RFC 8538 §3).
        pub const HARD_RESET: u8 = 9;
        /// 10: BFD Down (RFC 9384).
        pub const BFD_DOWN: u8 = 10;
    }

    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    pub mod route_refresh {
        /// 1: Invalid Message Length.
        pub const INVALID_MESSAGE_LENGTH: u8 = 1;
    }
}

/// The IANA name of an error code.
pub(crate) fn code_name(error_code: u8) -> &'static str {
    match error_code {
        code::MESSAGE_HEADER_ERROR => "Message Header Error",
        code::OPEN_MESSAGE_ERROR => "OPEN Message Error",
        code::UPDATE_MESSAGE_ERROR => "UPDATE Message Error",
        code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        code::FSM_ERROR => "Finite State Machine Error",
        code::CEASE => "Cease",
        code::ROUTE_REFRESH_MESSAGE_ERROR => "ROUTE-REFRESH Message Error",
        code::SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
        _ => "Unknown",
    }
}

/// The IANA name of a subcode under `error_code`.
pub(crate) fn subcode_name(error_code: u8, error_subcode: u8) -> &'static str {
    if error_subcode == subcode::UNSPECIFIC {
        return "Unspecific";
    }
    let name = match error_code {
        code::MESSAGE_HEADER_ERROR => match error_subcode {
            1 => "Connection Not Synchronized",
            2 => "Bad Message Length",
            3 => "Bad Message Type",
            _ => "",
        },
        code::OPEN_MESSAGE_ERROR => match error_subcode {
            1 => "Unsupported Version Number",
            2 => "Bad Peer AS",
            3 => "Bad BGP Identifier",
            4 => "Unsupported Optional Parameter",
            5 => "Authentication Failure (deprecated)",
            6 => "Unacceptable Hold Time",
            7 => "Unsupported Capability",
            8..=10 => "Deprecated",
            11 => "Role Mismatch",
            _ => "",
        },
        code::UPDATE_MESSAGE_ERROR => match error_subcode {
            1 => "Malformed Attribute List",
            2 => "Unrecognized Well-known Attribute",
            3 => "Missing Well-known Attribute",
            4 => "Attribute Flags Error",
            5 => "Attribute Length Error",
            6 => "Invalid ORIGIN Attribute",
            7 => "AS Routing Loop (deprecated)",
            8 => "Invalid NEXT_HOP Attribute",
            9 => "Optional Attribute Error",
            10 => "Invalid Network Field",
            11 => "Malformed AS_PATH",
            _ => "",
        },
        code::FSM_ERROR => match error_subcode {
            1 => "Receive Unexpected Message in OpenSent State",
            2 => "Receive Unexpected Message in OpenConfirm State",
            3 => "Receive Unexpected Message in Established State",
            _ => "",
        },
        code::CEASE => match error_subcode {
            1 => "Maximum Number of Prefixes Reached",
            2 => "Administrative Shutdown",
            3 => "Peer De-configured",
            4 => "Administrative Reset",
            5 => "Connection Rejected",
            6 => "Other Configuration Change",
            7 => "Connection Collision Resolution",
            8 => "Out of Resources",
            9 => "Hard Reset",
            10 => "BFD Down",
            _ => "",
        },
        code::ROUTE_REFRESH_MESSAGE_ERROR => match error_subcode {
            1 => "Invalid Message Length",
            _ => "",
        },
        _ => "",
    };
    if name.is_empty() { "Unknown" } else { name }
}
