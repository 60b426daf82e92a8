//! Test support: a loopback web server, generated pictures, and a policy that allows loopback.

use std::io::Cursor;
use std::net::SocketAddr;

use axum::Router;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use pinline_drafts::{DraftSettings, FetchPolicy};

/// A server on `127.0.0.1:0` that stops when dropped.
pub struct TestSite {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestSite {
    pub async fn start(router: Router) -> Self {
        // Test pages live on loopback; nothing a drafts test does may leave the machine.
        pinline_outbound::restrict_to_loopback();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("the listener has an address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the test server runs");
        });
        Self { address, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for TestSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Fetching that may reach loopback, as every test server lives there.
pub fn loopback_policy() -> FetchPolicy {
    FetchPolicy {
        allow_private: true,
        ..FetchPolicy::default()
    }
}

pub fn loopback_settings() -> DraftSettings {
    DraftSettings {
        fetch: loopback_policy(),
        ..DraftSettings::default()
    }
}

/// A deterministic pseudo-random byte stream, so "noise" is the same on every run.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(6364136223846793005).wrapping_add(1))
    }

    pub fn next_byte(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 56) as u8
    }
}

/// A flat grey-blue picture with a noisy (highly detailed) rectangle.
pub fn flat_with_detail(width: u32, height: u32, patch: (u32, u32, u32, u32)) -> DynamicImage {
    let (px, py, pw, ph) = patch;
    let mut noise = Noise::new(7);
    let picture = RgbImage::from_fn(width, height, |x, y| {
        if x >= px && x < px + pw && y >= py && y < py + ph {
            Rgb([noise.next_byte(), noise.next_byte(), noise.next_byte()])
        } else {
            Rgb([120, 140, 170])
        }
    });
    DynamicImage::ImageRgb8(picture)
}

/// Noise everywhere: the hardest picture to compress.
pub fn noise(width: u32, height: u32) -> DynamicImage {
    flat_with_detail(width, height, (0, 0, width, height))
}

pub fn encode(picture: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, format)
        .expect("the test picture encodes");
    bytes.into_inner()
}

pub fn png(picture: &DynamicImage) -> Vec<u8> {
    encode(picture, ImageFormat::Png)
}

/// A JPEG carrying an EXIF APP1 segment whose only tag is Orientation (0x0112).
pub fn jpeg_with_orientation(picture: &DynamicImage, orientation: u16) -> Vec<u8> {
    let jpeg = encode(
        &DynamicImage::ImageRgb8(picture.to_rgb8()),
        ImageFormat::Jpeg,
    );
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG starts with SOI");

    // TIFF header (big-endian), one IFD with one entry, no next IFD.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2A");
    tiff.extend_from_slice(&8u32.to_be_bytes()); // offset of IFD0
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD

    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let length = u16::try_from(payload.len() + 2).expect("the segment is small");

    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Decodes a prepared JPEG back, to look at its pixels.
pub fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .expect("the prepared JPEG decodes")
        .to_rgb8()
}
