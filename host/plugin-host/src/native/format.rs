//! What a file claims to be, read from its first bytes before anything is
//! loaded: `dlopen` runs a library's constructors, so a library for another
//! machine, or not a library at all, is refused from its header alone.

/// The object formats told apart by their magic numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Elf,
    MachO,
    Pe,
    Wasm,
}

impl Format {
    fn os(self) -> &'static str {
        match self {
            Format::Elf => "Linux or another ELF system",
            Format::MachO => "macOS",
            Format::Pe => "Windows",
            Format::Wasm => "WebAssembly",
        }
    }
}

/// The format this host loads.
fn host_format() -> Format {
    match std::env::consts::OS {
        "macos" | "ios" => Format::MachO,
        "windows" => Format::Pe,
        _ => Format::Elf,
    }
}

/// Why `bytes` cannot be a shared library for this machine, or `None` when the
/// header fits (format, word size, byte order, architecture).
pub(crate) fn mismatch(bytes: &[u8]) -> Option<String> {
    let Some(format) = format_of(bytes) else {
        let start: String = bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Some(format!(
            "the file is not a shared library (it starts with bytes {}, not a library header)",
            if start.is_empty() {
                "(none: it is empty)".into()
            } else {
                start
            }
        ));
    };
    if format == Format::Wasm {
        return Some(
            "the file is WebAssembly, not a native library; name it as `component` in the manifest instead of under [native]".into(),
        );
    }
    if format != host_format() {
        return Some(format!(
            "the library is built for {}, and this machine runs {}",
            format.os(),
            host_format().os()
        ));
    }
    if format == Format::Elf {
        return elf_mismatch(bytes);
    }
    None
}

fn format_of(bytes: &[u8]) -> Option<Format> {
    match bytes.get(..4)? {
        [0x7f, b'E', b'L', b'F'] => Some(Format::Elf),
        [0xcf, 0xfa, 0xed, 0xfe] | [0xfe, 0xed, 0xfa, 0xcf] | [0xca, 0xfe, 0xba, 0xbe] => {
            Some(Format::MachO)
        }
        [b'M', b'Z', ..] => Some(Format::Pe),
        [0, b'a', b's', b'm'] => Some(Format::Wasm),
        _ => None,
    }
}

/// ELF: the class (32/64-bit), byte order, type (a shared object) and
/// machine must be this host's.
fn elf_mismatch(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 20 {
        return Some("the library is truncated (its ELF header is incomplete)".into());
    }
    let class = match bytes[4] {
        1 => 32,
        2 => 64,
        _ => return Some("the library's ELF header is damaged (unknown class)".into()),
    };
    let little = match bytes[5] {
        1 => true,
        2 => false,
        _ => return Some("the library's ELF header is damaged (unknown byte order)".into()),
    };
    let host_bits = usize::BITS;
    if class != host_bits {
        return Some(format!(
            "the library is {class}-bit, and this machine runs {host_bits}-bit programs"
        ));
    }
    if little != cfg!(target_endian = "little") {
        return Some("the library is for a machine of the other byte order".into());
    }
    let u16_at = |i: usize| {
        let pair = [bytes[i], bytes[i + 1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    let machine = u16_at(18);
    if Some(machine) != host_machine() {
        return Some(format!(
            "the library is built for {} and this machine is {}",
            machine_name(machine),
            std::env::consts::ARCH
        ));
    }
    // ET_DYN: a shared object (an executable built as PIE is one too, and
    // fails later for want of the ABI symbols).
    if u16_at(16) != 3 {
        return Some("the file is an ELF program or object file, not a shared library".into());
    }
    None
}

/// This host's ELF `e_machine`.
fn host_machine() -> Option<u16> {
    match std::env::consts::ARCH {
        "x86_64" => Some(62),
        "aarch64" => Some(183),
        "x86" => Some(3),
        "arm" => Some(40),
        "riscv64" => Some(243),
        "powerpc64" => Some(21),
        "s390x" => Some(22),
        "loongarch64" => Some(258),
        _ => None,
    }
}

fn machine_name(machine: u16) -> String {
    match machine {
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        3 => "x86 (32-bit)".into(),
        40 => "arm (32-bit)".into(),
        243 => "riscv64".into(),
        21 => "powerpc64".into(),
        22 => "s390x".into(),
        258 => "loongarch64".into(),
        other => format!("another architecture (ELF machine {other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian ELF header for `machine` and `kind`.
    fn elf(machine: u16, kind: u16) -> Vec<u8> {
        let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        h.resize(16, 0);
        h.extend_from_slice(&kind.to_le_bytes());
        h.extend_from_slice(&machine.to_le_bytes());
        h.resize(64, 0);
        h
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn headers_for_this_machine_pass_and_others_say_what_they_are() {
        assert_eq!(mismatch(&elf(62, 3)), None);
        assert_eq!(
            mismatch(&elf(183, 3)).unwrap(),
            "the library is built for aarch64 and this machine is x86_64"
        );
        assert_eq!(
            mismatch(&elf(62, 2)).unwrap(),
            "the file is an ELF program or object file, not a shared library"
        );
        let mut m32 = elf(3, 3);
        m32[4] = 1;
        assert_eq!(
            mismatch(&m32).unwrap(),
            "the library is 32-bit, and this machine runs 64-bit programs"
        );
        assert_eq!(
            mismatch(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]).unwrap(),
            "the library is built for macOS, and this machine runs Linux or another ELF system"
        );
        assert!(
            mismatch(b"MZ\x90\x00")
                .unwrap()
                .contains("built for Windows")
        );
        assert!(
            mismatch(b"\0asm\x0d\0\x01\0")
                .unwrap()
                .contains("is WebAssembly")
        );
        assert_eq!(
            mismatch(b"hello world").unwrap(),
            "the file is not a shared library (it starts with bytes 68 65 6c 6c, not a library header)"
        );
        assert!(mismatch(b"").unwrap().contains("(none: it is empty)"));
        assert!(mismatch(&elf(62, 3)[..10]).unwrap().contains("truncated"));
    }
}
