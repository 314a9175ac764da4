"""STAMP test packets (RFC 8762, unauthenticated mode): the Session-Sender's and the
Session-Reflector's, 44 octets each (longer when the sender pads; the reflector answers
with the same length), timestamps in the 64-bit NTP format. Pure: no sockets here.

Session-Sender:    sequence (4) | timestamp (8) | error estimate (2) | MBZ (2) | MBZ (28)
Session-Reflector: sequence (4) | timestamp (8) | error estimate (2) | MBZ (2) |
                   receive timestamp (8) | sender sequence (4) | sender timestamp (8) |
                   sender error estimate (2) | MBZ (2) | sender TTL (1) | MBZ (3)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PORT = 862  # the STAMP well-known port
SIZE = 44  # octets of an unauthenticated test packet (sender and reflector alike)
MAX_SIZE = 1472  # a padded packet still fits one 1500-byte Ethernet frame
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)

_SENDER = struct.Struct("!IQHH28x")
_REFLECTOR = struct.Struct("!IQHHQIQHHB3x")


class Malformed(ValueError):
    """Not a STAMP test packet (too short, too long)."""


def ntp_from_ns(unix_ns: int) -> int:
    """A Unix time in nanoseconds as a 64-bit NTP timestamp (32 bits of seconds since
    1900, 32 bits of fraction)."""
    seconds, ns = divmod(unix_ns, 1_000_000_000)
    return ((seconds + NTP_UNIX_OFFSET) & 0xFFFF_FFFF) << 32 | (ns << 32) // 1_000_000_000


def ns_from_ntp(ntp: int) -> int:
    """The Unix time in nanoseconds of a 64-bit NTP timestamp (era 0: 1900-2036)."""
    return ((ntp >> 32) - NTP_UNIX_OFFSET) * 1_000_000_000 + ((ntp & 0xFFFF_FFFF) * 1_000_000_000 >> 32)


@dataclass(frozen=True, slots=True)
class ErrorEstimate:
    """RFC 4656 section 4.1.2: S (clock synchronized to UTC), Z (0: NTP format, 1: PTP),
    and the error itself, multiplier * 2^(scale - 32) seconds (the multiplier is never 0)."""

    synchronized: bool = False
    ptp: bool = False
    scale: int = 22  # with multiplier 1: 2^-10 s, about 1 ms (software timestamps)
    multiplier: int = 1

    def encode(self) -> int:
        if not 0 <= self.scale < 64 or not 1 <= self.multiplier < 256:
            raise ValueError("scale is 6 bits, multiplier 8 bits and not 0")
        return self.synchronized << 15 | self.ptp << 14 | self.scale << 8 | self.multiplier

    @classmethod
    def decode(cls, raw: int) -> ErrorEstimate:
        return cls(bool(raw >> 15 & 1), bool(raw >> 14 & 1), raw >> 8 & 0x3F, raw & 0xFF)

    @property
    def seconds(self) -> float:
        return self.multiplier * 2.0 ** (self.scale - 32)


def _check_size(size: int) -> None:
    if not SIZE <= size <= MAX_SIZE:
        raise Malformed(f"a test packet is {SIZE}..{MAX_SIZE} octets, not {size}")


@dataclass(frozen=True, slots=True)
class SenderPacket:
    sequence: int
    timestamp: int  # NTP format, when it was sent
    error_estimate: int = ErrorEstimate().encode()
    size: int = SIZE  # on the wire, padding included

    def encode(self) -> bytes:
        _check_size(self.size)
        return _SENDER.pack(self.sequence, self.timestamp, self.error_estimate, 0).ljust(self.size, b"\0")

    @classmethod
    def decode(cls, data: bytes) -> SenderPacket:
        _check_size(len(data))
        sequence, timestamp, error, _ = _SENDER.unpack_from(data)
        return cls(sequence, timestamp, error, len(data))


@dataclass(frozen=True, slots=True)
class ReflectorPacket:
    sequence: int
    timestamp: int  # NTP format, when the reflection was sent
    error_estimate: int
    receive_timestamp: int  # when the sender's packet arrived
    sender_sequence: int
    sender_timestamp: int
    sender_error_estimate: int
    sender_ttl: int  # the TTL the sender's packet arrived with (255 when not known)
    size: int = SIZE

    def encode(self) -> bytes:
        _check_size(self.size)
        return _REFLECTOR.pack(
            self.sequence,
            self.timestamp,
            self.error_estimate,
            0,
            self.receive_timestamp,
            self.sender_sequence,
            self.sender_timestamp,
            self.sender_error_estimate,
            0,
            self.sender_ttl,
        ).ljust(self.size, b"\0")

    @classmethod
    def decode(cls, data: bytes) -> ReflectorPacket:
        _check_size(len(data))
        seq, ts, err, _, rx, s_seq, s_ts, s_err, _, ttl = _REFLECTOR.unpack_from(data)
        return cls(seq, ts, err, rx, s_seq, s_ts, s_err, ttl, len(data))

    @property
    def turnaround_ns(self) -> int:
        """How long the reflector held the packet (its own clock, so no synchronization
        is needed to subtract it from the round trip)."""
        return ns_from_ntp(self.timestamp) - ns_from_ntp(self.receive_timestamp)


def reflection(
    received: SenderPacket, sequence: int, receive_ntp: int, send_ntp: int, ttl: int, error_estimate: int
) -> ReflectorPacket:
    """The reflector's answer to `received`, of the same size (RFC 8762 section 4.3)."""
    return ReflectorPacket(
        sequence,
        send_ntp,
        error_estimate,
        receive_ntp,
        received.sequence,
        received.timestamp,
        received.error_estimate,
        ttl,
        received.size,
    )
