//! What decoding an image will cost, worked out from its header before anything is allocated.
//!
//! The decoded picture takes width × height × bytes per pixel of the colour type the header
//! declares. Some decoders keep more beside it while they work, and a limit that ignored that
//! would let a file through whose decoding still needs several times the limit:
//!
//! - a progressive (or non-interleaved) JPEG keeps every DCT coefficient of every component
//!   until the last scan: two bytes per sample, more than the picture itself;
//! - a lossy WebP is decoded into Y, U and V planes (1.5 bytes per pixel, padded to 16×16
//!   macroblocks) before it becomes RGB; a lossless one without alpha is decoded as RGBA and
//!   then copied into RGB; an animated one composes frames on a canvas of its own.
//!
//! These are read from the container (JPEG markers up to the first scan, the first RIFF chunk),
//! and a file whose structure cannot be read is charged the worst case.

use image::ImageFormat;

/// Bytes a decoder of `format` needs beside the decoded picture of `width × height`, read from
/// the file's own structure (`bytes`).
pub(crate) fn decoder_working_bytes(
    format: ImageFormat,
    bytes: &[u8],
    width: u32,
    height: u32,
) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    match format {
        ImageFormat::Jpeg => jpeg_coefficient_bytes(bytes).unwrap_or(pixels.saturating_mul(8)),
        ImageFormat::WebP => webp_working_bytes(bytes, width, height),
        // The PNG decoder writes rows straight into the picture; beside it, it keeps two rows
        // and its inflate window.
        _ => 0,
    }
}

/// One component of a JPEG frame: its horizontal and vertical sampling factors.
#[derive(Debug, Clone, Copy)]
struct Component {
    horizontal: u64,
    vertical: u64,
}

/// A JPEG's frame header (SOFn).
#[derive(Debug)]
struct Frame {
    progressive: bool,
    width: u64,
    height: u64,
    components: Vec<Component>,
}

/// The coefficient buffers a JPEG decoder holds: nothing but a row of blocks for a baseline
/// image whose first scan carries every component; every block of every component, two bytes a
/// coefficient, for a progressive image or one whose components come in separate scans. `None`
/// when the markers cannot be read up to the first scan.
fn jpeg_coefficient_bytes(bytes: &[u8]) -> Option<u64> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    let mut frame: Option<Frame> = None;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        // Markers without a length: TEM and the restart markers.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at + 2..at + length.max(2))?;
        match marker {
            // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u64::from(u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?]));
                let width = u64::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]));
                let count = usize::from(*segment.get(5)?);
                let components = (0..count)
                    .map(|index| {
                        let sampling = *segment.get(6 + index * 3 + 1)?;
                        Some(Component {
                            horizontal: u64::from(sampling >> 4).max(1),
                            vertical: u64::from(sampling & 0x0F).max(1),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                frame = Some(Frame {
                    progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                    width,
                    height,
                    components,
                });
            }
            // SOS: the first scan says whether the components are interleaved.
            0xDA => {
                let frame = frame?;
                let in_first_scan = usize::from(*segment.first()?);
                if !frame.progressive && in_first_scan >= frame.components.len() {
                    return Some(0);
                }
                return Some(all_coefficients(&frame));
            }
            // EOI before any scan: nothing will be decoded.
            0xD9 => return Some(0),
            _ => {}
        }
        at += length;
    }
}

/// Two bytes for each coefficient of each block of each component, with the image padded to
/// whole MCUs, as the decoder allocates them.
fn all_coefficients(frame: &Frame) -> u64 {
    let max_horizontal = frame
        .components
        .iter()
        .map(|c| c.horizontal)
        .max()
        .unwrap_or(1);
    let max_vertical = frame
        .components
        .iter()
        .map(|c| c.vertical)
        .max()
        .unwrap_or(1);
    let mcus_across = frame.width.div_ceil(8 * max_horizontal);
    let mcus_down = frame.height.div_ceil(8 * max_vertical);
    frame
        .components
        .iter()
        .map(|c| mcus_across * mcus_down * c.horizontal * c.vertical * 64 * 2)
        .sum()
}

/// What a WebP decoder holds beside the picture, by the kind of the first chunk.
fn webp_working_bytes(bytes: &[u8], width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let worst = pixels.saturating_mul(8);
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return worst;
    }
    match bytes.get(12..16) {
        // Lossy: Y, U and V planes padded to 16×16 macroblocks.
        Some(b"VP8 ") => {
            let padded = u64::from(width).div_ceil(16) * 16 * u64::from(height).div_ceil(16) * 16;
            padded * 3 / 2
        }
        // Lossless: decoded as RGBA, then copied when the output has no alpha.
        Some(b"VP8L") => pixels * 4,
        Some(b"VP8X") => {
            let animated = bytes.get(20).is_some_and(|flags| flags & 0x02 != 0);
            if animated {
                // A frame of up to the canvas's size and a canvas of its own to compose on.
                worst
            } else {
                // Lossless as RGBA, or lossy planes plus an alpha plane: at most four bytes.
                pixels * 4
            }
        }
        _ => worst,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_are_charged_without_panicking(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            width in 1u32..70_000,
            height in 1u32..70_000,
        ) {
            let mut jpeg = vec![0xFF, 0xD8];
            jpeg.extend_from_slice(&body);
            decoder_working_bytes(ImageFormat::Jpeg, &jpeg, width, height);
            let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
            webp.extend_from_slice(&body);
            decoder_working_bytes(ImageFormat::WebP, &webp, width, height);
        }
    }

    /// SOI, a frame header of `marker` with these sampling factors, and a first scan carrying
    /// `in_scan` components.
    fn jpeg(marker: u8, width: u16, height: u16, sampling: &[u8], in_scan: u8) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        let count = u8::try_from(sampling.len()).expect("few components");
        let length = 8 + 3 * u16::from(count);
        bytes.extend_from_slice(&[0xFF, marker]);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.push(8);
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.push(count);
        for (index, factors) in sampling.iter().enumerate() {
            bytes.extend_from_slice(&[u8::try_from(index).expect("few") + 1, *factors, 0]);
        }
        bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, in_scan, 1, 0, 0, 63, 0]);
        bytes
    }

    #[test]
    fn baseline_interleaved_jpegs_keep_no_coefficients() {
        let bytes = jpeg(0xC0, 4000, 3000, &[0x22, 0x11, 0x11], 3);
        assert_eq!(jpeg_coefficient_bytes(&bytes), Some(0));
    }

    #[test]
    fn progressive_jpegs_keep_every_coefficient() {
        // 4:2:0: per 16×16 MCU, four luma blocks and one block of each chroma component.
        let bytes = jpeg(0xC2, 1600, 1600, &[0x22, 0x11, 0x11], 1);
        let mcus = 100 * 100;
        assert_eq!(jpeg_coefficient_bytes(&bytes), Some(mcus * 6 * 64 * 2));
        // 4:4:4: one block of each component per 8×8 MCU.
        let bytes = jpeg(0xC2, 1600, 1600, &[0x11, 0x11, 0x11], 1);
        assert_eq!(jpeg_coefficient_bytes(&bytes), Some(200 * 200 * 3 * 64 * 2));
        // Baseline with one component per scan needs the same.
        let bytes = jpeg(0xC0, 1600, 1600, &[0x11, 0x11, 0x11], 1);
        assert_eq!(jpeg_coefficient_bytes(&bytes), Some(200 * 200 * 3 * 64 * 2));
    }

    #[test]
    fn unreadable_structures_are_charged_the_worst_case() {
        assert_eq!(jpeg_coefficient_bytes(b"\xFF\xD8\xFF"), None);
        assert_eq!(
            decoder_working_bytes(ImageFormat::Jpeg, b"\xFF\xD8", 100, 100),
            80_000
        );
        assert_eq!(webp_working_bytes(b"RIFF....WEBPXXXX", 100, 100), 80_000);
    }
}
