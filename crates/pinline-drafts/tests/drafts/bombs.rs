//! Decompression bombs, generated: small files whose headers promise enormous pictures.
//!
//! Each is a well-formed file, so a decoder that trusted the header would really allocate (and
//! the PNG would really fill) the picture it declares. Nothing here depends on the image crate
//! (the binary's process tests include this file too).

/// A PNG that declares a `side × side` RGB picture and carries all of its rows: zero bytes,
/// deflated at the format's best ratio (about 1:1000). 16384 a side is 805 MB of pixels in a
/// file of about 780 KB.
pub fn png(side: u32) -> Vec<u8> {
    let row = 1 + 3 * u64::from(side);
    let raw = row * u64::from(side);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // 8 bits per sample, truecolour, deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &header);
    png_chunk(&mut out, b"IDAT", &zlib_zeros(raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a chunk under 4 GiB");
    out.extend_from_slice(&length.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Deflate's bits, least significant first; Huffman codes go most significant bit first.
struct Bits {
    out: Vec<u8>,
    buffer: u64,
    count: u32,
}

impl Bits {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            buffer: 0,
            count: 0,
        }
    }

    fn put(&mut self, value: u64, bits: u32) {
        self.buffer |= value << self.count;
        self.count += bits;
        while self.count >= 8 {
            self.out.push(self.buffer as u8);
            self.buffer >>= 8;
            self.count -= 8;
        }
    }

    fn code(&mut self, code: u64, bits: u32) {
        for bit in (0..bits).rev() {
            self.put((code >> bit) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.buffer as u8);
        }
        self.out
    }
}

/// A zlib stream of `length` zero bytes in one dynamic-Huffman block: a literal zero, then
/// matches of 258 bytes at distance 1, each two bits long.
fn zlib_zeros(length: u64) -> Vec<u8> {
    let mut bits = Bits::new();
    bits.put(1, 1); // the final block
    bits.put(2, 2); // dynamic Huffman codes
    bits.put(286 - 257, 5); // literal/length codes: up to 285 (length 258)
    bits.put(2 - 1, 5); // two distance codes (1 and 2), so that the code is complete
    bits.put(18 - 4, 4); // code-length codes sent, in the order below
    // Code-length code lengths in deflate's order 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12,
    // 3, 13, 2, 14, 1: "18" (a run of zeros) gets one bit, "1" and "2" get two.
    for length in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        bits.put(length, 3);
    }
    // Canonical codes: "18" = 0, "1" = 10, "2" = 11.
    let zeros = |bits: &mut Bits, run: u64| {
        bits.code(0, 1);
        bits.put(run - 11, 7);
    };
    // Literal 0 gets two bits, 1–255 none, end-of-block (256) two, 257–284 none, 285 one;
    // both distance codes one.
    bits.code(0b11, 2);
    zeros(&mut bits, 138);
    zeros(&mut bits, 117);
    bits.code(0b11, 2);
    zeros(&mut bits, 28);
    for _ in 0..3 {
        bits.code(0b10, 2);
    }
    // Canonical codes: 285 = 0, literal 0 = 10, end of block = 11; distance 1 = 0.
    bits.code(0b10, 2);
    let rest = length - 1;
    for _ in 0..rest / 258 {
        bits.code(0, 1);
        bits.code(0, 1);
    }
    for _ in 0..rest % 258 {
        bits.code(0b10, 2);
    }
    bits.code(0b11, 2);
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&bits.finish());
    // Adler-32 of zeros: the first sum stays 1, the second grows by 1 per byte.
    let adler = ((length % 65_521) << 16) | 1;
    out.extend_from_slice(&u32::try_from(adler).expect("32 bits").to_be_bytes());
    out
}

/// A baseline JPEG whose frame header declares `width × height` in three components, with a
/// few kilobytes of (all-zero) scan data: every block decodes to flat grey in two bits.
pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
    jpeg_with_frame(0xC0, width, height)
}

/// The same as a progressive JPEG (SOF2), which keeps every coefficient while it decodes.
pub fn progressive_jpeg(width: u16, height: u16) -> Vec<u8> {
    jpeg_with_frame(0xC2, width, height)
}

fn jpeg_with_frame(marker: u8, width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // One quantisation table of ones.
    out.extend_from_slice(&[0xFF, 0xDB, 0x00, 67, 0x00]);
    out.extend_from_slice(&[1; 64]);
    // The frame: 8-bit samples, three components at 4:4:4, all on table 0.
    out.extend_from_slice(&[0xFF, marker, 0x00, 17, 8]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    // DC and AC tables with a single one-bit code each, for symbol 0 (no difference / EOB).
    out.extend_from_slice(&[0xFF, 0xC4, 0x00, 38]);
    for class in [0x00, 0x10] {
        out.push(class);
        out.push(1);
        out.extend_from_slice(&[0; 15]);
        out.push(0);
    }
    // A scan of all three components (for SOF2: the DC scan).
    let (start, end) = if marker == 0xC2 { (0, 0) } else { (0, 63) };
    out.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 12, 3, 1, 0x00, 2, 0x00, 3, 0x00, start, end, 0,
    ]);
    out.extend_from_slice(&[0; 4096]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A lossless WebP (VP8L) of `side × side` transparent black pixels: every pixel is the only
/// symbol of its prefix codes, zero bits each, so the whole picture fits in a few bytes.
/// 16383 is the largest side the decoder reads (the format can say 16384, which it reads as 0).
pub fn webp_lossless(side: u32) -> Vec<u8> {
    riff_webp(&[(*b"VP8L", vp8l(side, side))])
}

/// A VP8X WebP whose canvas is `canvas × canvas` (up to 2^24 a side), with alpha and a small
/// lossless picture inside.
pub fn webp_extended(canvas: u32) -> Vec<u8> {
    let mut header = vec![0x10, 0, 0, 0]; // the alpha flag
    header.extend_from_slice(&(canvas - 1).to_le_bytes()[..3]);
    header.extend_from_slice(&(canvas - 1).to_le_bytes()[..3]);
    let inner = canvas.min(16_383);
    riff_webp(&[(*b"VP8X", header), (*b"VP8L", vp8l(inner, inner))])
}

fn vp8l(width: u32, height: u32) -> Vec<u8> {
    let mut bits = Bits::new();
    bits.put(0x2F, 8); // the signature
    bits.put(u64::from(width - 1), 14);
    bits.put(u64::from(height - 1), 14);
    bits.put(1, 1); // alpha is used
    bits.put(0, 3); // version 0
    bits.put(0, 1); // no transforms
    bits.put(0, 1); // no colour cache
    bits.put(0, 1); // one prefix-code group for the whole picture
    // Five simple prefix codes (green, red, blue, alpha, distance) of one one-bit symbol: 0.
    for _ in 0..5 {
        bits.put(1, 1); // simple code
        bits.put(0, 1); // one symbol
        bits.put(0, 1); // of one bit
        bits.put(0, 1); // symbol 0
    }
    bits.finish()
}

fn riff_webp(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (kind, data) in chunks {
        body.extend_from_slice(kind);
        let length = u32::try_from(data.len()).expect("a small chunk");
        body.extend_from_slice(&length.to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    let length = u32::try_from(body.len()).expect("a small file");
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A GIF whose logical screen and only frame are `side × side` (up to 65535), with a few
/// kilobytes of LZW data.
pub fn gif(side: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&side.to_le_bytes());
    out.extend_from_slice(&side.to_le_bytes());
    // A global colour table of two entries, black and white.
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]);
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&side.to_le_bytes());
    out.extend_from_slice(&side.to_le_bytes());
    out.push(0);
    out.push(2); // LZW minimum code size
    for _ in 0..16 {
        out.push(255);
        out.extend_from_slice(&[0; 255]);
    }
    out.push(0);
    out.push(0x3B);
    out
}
