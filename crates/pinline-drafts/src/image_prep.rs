//! Pin images: any JPEG, PNG or WebP in, a 1000×1500 (2:3) JPEG under a size cap out.
//!
//! The steps: read the header and refuse a picture whose decoding would take more memory than
//! [`ImageSettings::max_decode_bytes`] (width × height × bytes per pixel of its colour type, plus
//! what its decoder keeps beside the picture) *before* anything is allocated; decode; shrink a
//! picture far larger than a pin needs straight away (to at most
//! [`ImageSettings::working_scale`] output widths across its largest 2:3 window), so that every
//! later step works on a copy of bounded size; choose 2:3 crop windows around the most detailed
//! parts ([`choose_crops`]); resize each window to the pin size straight from the picture as
//! stored and only then turn the small result upright by the EXIF orientation (so no full-size
//! rotated copy is ever made); encode as JPEG, lowering the quality step by step until the file
//! fits the cap. Transparent pixels are laid over white, since JPEG has no alpha and Pinterest
//! shows pins on white.
//!
//! Other formats (GIF, BMP, TIFF, …) are refused by their signature, before any decoder runs: a
//! pin made from a GIF would show its first frame only, and every decoder left out is one less
//! parser of hostile files.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{
    DynamicImage, GenericImageView, GrayImage, ImageDecoder, ImageError, ImageFormat, ImageReader,
    Limits, RgbImage,
};
use serde::Serialize;

use crate::DraftError;
use crate::decode_cost::decoder_working_bytes;

/// How pin images are made. [`Default`] gives Pinterest's recommended 1000×1500.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// The largest JPEG allowed, in bytes.
    pub max_jpeg_bytes: usize,
    /// The first JPEG quality tried.
    pub start_quality: u8,
    /// The lowest JPEG quality tried before giving up.
    pub min_quality: u8,
    /// How much the quality drops per try.
    pub quality_step: u8,
    /// The smallest acceptable shorter side of the source image.
    pub min_source_side: u32,
    /// The largest acceptable width or height of the source image.
    pub max_source_side: u32,
    /// The most memory decoding one source may take: width × height × bytes per pixel of the
    /// colour type its header declares, plus what the decoder keeps beside the picture (a
    /// progressive JPEG's coefficients, a WebP's planes). Checked on the header, before
    /// anything is allocated.
    pub max_decode_bytes: u64,
    /// A decoded source whose largest window of the output's ratio is wider than this many
    /// output widths is shrunk to that at once; cropping and resizing then work on the smaller
    /// copy. Two leaves the zoomed variants (56 % of the largest window) sharper than the pin.
    pub working_scale: u32,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            width: 1000,
            height: 1500,
            max_jpeg_bytes: 1024 * 1024,
            start_quality: 90,
            min_quality: 40,
            quality_step: 8,
            min_source_side: 200,
            max_source_side: 16_384,
            // A 32-megapixel RGB photo fits (24 with alpha; the baseline JPEGs of phones and
            // most cameras), while a pin is 1.5 megapixels. With one image decoded at a time,
            // drafting peaks at about 150 MiB (crates/pinline/tests/draft_memory.rs).
            max_decode_bytes: 96 * 1024 * 1024,
            working_scale: 2,
        }
    }
}

/// A rectangle in the upright source image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CropRect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl CropRect {
    fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Intersection over union with another rectangle (0 apart, 1 identical).
    pub fn overlap(&self, other: &CropRect) -> f64 {
        let left = self.x.max(other.x);
        let top = self.y.max(other.y);
        let right = self
            .x
            .saturating_add(self.width)
            .min(other.x.saturating_add(other.width));
        let bottom = self
            .y
            .saturating_add(self.height)
            .min(other.y.saturating_add(other.height));
        if right <= left || bottom <= top {
            return 0.0;
        }
        let intersection = u64::from(right - left) * u64::from(bottom - top);
        let union = (self.area() + other.area())
            .saturating_sub(intersection)
            .max(1);
        intersection as f64 / union as f64
    }
}

/// One finished pin image.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct PreparedImage {
    /// The JPEG file.
    #[serde(skip)]
    pub jpeg: Vec<u8>,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The window of the upright source image it shows.
    pub crop: CropRect,
    /// The JPEG quality that fitted the cap.
    pub quality: u8,
    /// The upright source image's width.
    pub source_width: u32,
    /// The upright source image's height.
    pub source_height: u32,
}

impl std::fmt::Debug for PreparedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedImage")
            .field("jpeg_len", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("crop", &self.crop)
            .field("quality", &self.quality)
            .field("source_width", &self.source_width)
            .field("source_height", &self.source_height)
            .finish()
    }
}

/// A decoded source, as stored (not yet upright), shrunk when it was far larger than needed.
struct Source {
    /// The pixels as stored, at working size.
    stored: DynamicImage,
    /// How to turn `stored` upright.
    orientation: Orientation,
    /// The upright size of the file's picture, before any shrinking.
    upright_width: u32,
    upright_height: u32,
}

impl Source {
    /// The upright size of the working copy.
    fn working_upright(&self) -> (u32, u32) {
        let (width, height) = self.stored.dimensions();
        if swaps_axes(self.orientation) {
            (height, width)
        } else {
            (width, height)
        }
    }
}

fn undecodable(error: ImageError) -> DraftError {
    DraftError::ImageUndecodable {
        reason: error.to_string(),
    }
}

fn mebibytes(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

/// Reads the header, refuses what may not be decoded, decodes, and shrinks what is far larger
/// than a pin needs. Nothing proportional to the picture is allocated before the header has
/// been checked.
fn decode_bounded(bytes: &[u8], settings: &ImageSettings) -> Result<Source, DraftError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| DraftError::ImageUndecodable {
            reason: error.to_string(),
        })?;
    let format = match reader.format() {
        Some(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => format,
        Some(other) => {
            return Err(DraftError::ImageFormatUnsupported {
                format: format!("{other:?}").to_uppercase(),
            });
        }
        None => {
            return Err(DraftError::ImageUndecodable {
                reason: "the bytes are not a JPEG, PNG or WebP file".to_owned(),
            });
        }
    };
    // The decoders honour `max_alloc` for what they read beside the pixels (ICC profiles,
    // EXIF, text chunks); the pixels themselves are checked below, on the header.
    let mut limits = Limits::default();
    limits.max_alloc = Some(settings.max_decode_bytes);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;

    let (width, height) = decoder.dimensions();
    let needed = decoder
        .total_bytes()
        .saturating_add(decoder_working_bytes(format, bytes, width, height));
    if width > settings.max_source_side || height > settings.max_source_side {
        return Err(DraftError::ImageTooLarge {
            width,
            height,
            why: format!(
                "more than the {} pixels a side that are accepted",
                settings.max_source_side
            ),
        });
    }
    if needed > settings.max_decode_bytes {
        return Err(DraftError::ImageTooLarge {
            width,
            height,
            why: format!(
                "which takes {} MiB to decode, over the {} MiB limit",
                mebibytes(needed),
                mebibytes(settings.max_decode_bytes)
            ),
        });
    }
    if width.min(height) < settings.min_source_side {
        return Err(DraftError::ImageTooSmall {
            width,
            height,
            min: settings.min_source_side,
        });
    }
    // A broken EXIF block should not cost the picture: show it as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder).map_err(undecodable)?;

    let (upright_width, upright_height) = if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let (window_width, _) = largest_window(
        upright_width,
        upright_height,
        settings.width,
        settings.height,
    );
    let widest = settings.width.saturating_mul(settings.working_scale.max(1));
    let stored = if window_width > widest {
        let scale = f64::from(widest) / f64::from(window_width);
        let shrink = |side: u32| ((f64::from(side) * scale).round() as u32).max(1);
        // Box averaging: each source pixel read once, no intermediate image, fine for the large
        // reductions this is for. The decoded picture is dropped as soon as this returns.
        decoded.thumbnail_exact(shrink(width), shrink(height))
    } else {
        decoded
    };
    Ok(Source {
        stored,
        orientation,
        upright_width,
        upright_height,
    })
}

/// Whether turning a picture upright swaps its width and height.
fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The rectangle of the stored picture (`stored_width × stored_height`) that becomes `upright`
/// once the picture is turned by `orientation`.
fn stored_rect(
    upright: CropRect,
    orientation: Orientation,
    stored_width: u32,
    stored_height: u32,
) -> CropRect {
    let CropRect {
        x,
        y,
        width,
        height,
    } = upright;
    let (sw, sh) = (stored_width, stored_height);
    let rect = |x: u32, y: u32, width: u32, height: u32| CropRect {
        x,
        y,
        width,
        height,
    };
    match orientation {
        Orientation::NoTransforms => upright,
        Orientation::Rotate90 => rect(y, sh - x - width, height, width),
        Orientation::Rotate180 => rect(sw - x - width, sh - y - height, width, height),
        Orientation::Rotate270 => rect(sw - y - height, x, height, width),
        Orientation::FlipHorizontal => rect(sw - x - width, y, width, height),
        Orientation::FlipVertical => rect(x, sh - y - height, width, height),
        Orientation::Rotate90FlipH => rect(y, x, height, width),
        Orientation::Rotate270FlipH => rect(sw - y - height, sh - x - width, height, width),
    }
}

/// Maps a rectangle of the upright working copy to the upright source, whose sides are
/// `factor` times as long.
fn scale_rect(rect: CropRect, factor: (f64, f64), bounds: (u32, u32)) -> CropRect {
    let scale = |value: u32, factor: f64| (f64::from(value) * factor).round() as u32;
    let x = scale(rect.x, factor.0).min(bounds.0.saturating_sub(1));
    let y = scale(rect.y, factor.1).min(bounds.1.saturating_sub(1));
    CropRect {
        x,
        y,
        width: scale(rect.width, factor.0).clamp(1, bounds.0 - x),
        height: scale(rect.height, factor.1).clamp(1, bounds.1 - y),
    }
}

/// Makes `count` pin images from one source image, each from a different crop window when
/// the picture allows (see [`choose_crops`]).
pub fn prepare_variants(
    bytes: &[u8],
    settings: &ImageSettings,
    count: usize,
) -> Result<Vec<PreparedImage>, DraftError> {
    let source = decode_bounded(bytes, settings)?;
    let (working_width, working_height) = source.working_upright();
    let detail = DetailMap::new(
        &source.stored.thumbnail(ANALYSIS_SIDE, ANALYSIS_SIDE),
        source.orientation,
    );
    let crops = choose_crops_in(
        &detail,
        working_width,
        working_height,
        settings.width,
        settings.height,
        count,
    );
    let factor = (
        f64::from(source.upright_width) / f64::from(working_width.max(1)),
        f64::from(source.upright_height) / f64::from(working_height.max(1)),
    );
    crops
        .into_iter()
        .map(|crop| {
            let pixels = render(&source, crop, settings);
            let (jpeg, quality) = encode_under_cap(&pixels, settings)?;
            Ok(PreparedImage {
                jpeg,
                width: pixels.width(),
                height: pixels.height(),
                crop: scale_rect(crop, factor, (source.upright_width, source.upright_height)),
                quality,
                source_width: source.upright_width,
                source_height: source.upright_height,
            })
        })
        .collect()
}

/// Makes one pin image from the best crop window.
pub fn prepare(bytes: &[u8], settings: &ImageSettings) -> Result<PreparedImage, DraftError> {
    prepare_variants(bytes, settings, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| DraftError::Internal("no crop window was chosen".to_owned()))
}

/// Resizes one window of the working copy to the pin size and turns the result upright. The
/// window is read in place from the picture as stored; only the pin-sized result is rotated.
fn render(source: &Source, upright: CropRect, settings: &ImageSettings) -> RgbImage {
    let (stored_width, stored_height) = source.stored.dimensions();
    let rect = stored_rect(upright, source.orientation, stored_width, stored_height);
    let (width, height) = if swaps_axes(source.orientation) {
        (settings.height, settings.width)
    } else {
        (settings.width, settings.height)
    };
    let mut resized = resize_window(&source.stored, rect, width, height);
    resized.apply_orientation(source.orientation);
    if resized.color().has_alpha() {
        over_white(&resized)
    } else {
        resized.to_rgb8()
    }
}

/// `rect` of `picture` resized to `width × height`, without copying the window first.
fn resize_window(picture: &DynamicImage, rect: CropRect, width: u32, height: u32) -> DynamicImage {
    let CropRect {
        x,
        y,
        width: w,
        height: h,
    } = rect;
    let filter = FilterType::CatmullRom;
    match picture {
        DynamicImage::ImageLuma8(buffer) => DynamicImage::ImageLuma8(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageLumaA8(buffer) => DynamicImage::ImageLumaA8(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageRgb8(buffer) => DynamicImage::ImageRgb8(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageRgba8(buffer) => DynamicImage::ImageRgba8(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageLuma16(buffer) => DynamicImage::ImageLuma16(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageLumaA16(buffer) => DynamicImage::ImageLumaA16(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageRgb16(buffer) => DynamicImage::ImageRgb16(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        DynamicImage::ImageRgba16(buffer) => DynamicImage::ImageRgba16(imageops::resize(
            &*buffer.view(x, y, w, h),
            width,
            height,
            filter,
        )),
        // Float pictures come from no decoder enabled here; copying the window is fine for them.
        other => other
            .crop_imm(x, y, w, h)
            .resize_exact(width, height, filter),
    }
}

fn over_white(picture: &DynamicImage) -> RgbImage {
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |channel: u8| -> u8 {
            let value = u32::from(channel) * u32::from(a) + 255 * (255 - u32::from(a));
            // Rounded division by 255; the result is at most 255.
            u8::try_from((value + 127) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

/// Encodes at falling qualities until the JPEG fits `max_jpeg_bytes`.
fn encode_under_cap(
    pixels: &RgbImage,
    settings: &ImageSettings,
) -> Result<(Vec<u8>, u8), DraftError> {
    let mut quality = settings.start_quality.clamp(1, 100);
    let floor = settings.min_quality.clamp(1, quality);
    let step = settings.quality_step.max(1);
    loop {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(pixels)
            .map_err(|error| DraftError::Internal(format!("JPEG encoding failed: {error}")))?;
        if jpeg.len() <= settings.max_jpeg_bytes {
            return Ok((jpeg, quality));
        }
        if quality == floor {
            return Err(DraftError::ImageOverSizeCap {
                cap: settings.max_jpeg_bytes,
                smallest: jpeg.len(),
            });
        }
        quality = quality.saturating_sub(step).max(floor);
    }
}

/// The side of the square the detail map is computed on; large enough to find a detailed
/// patch, small enough to cost nothing next to decoding.
const ANALYSIS_SIDE: u32 = 256;
/// Positions tried along each free axis.
const POSITION_STEPS: u32 = 16;
/// Window sizes tried, relative to the largest window of the target ratio.
const SCALES: [f64; 3] = [1.0, 0.75, 0.56];
/// Two windows overlapping more than this (intersection over union) count as the same crop.
const MAX_VARIANT_OVERLAP: f64 = 0.5;

/// Chooses `count` crop windows with the ratio of an `output_width × output_height` pin image.
///
/// The rule is edge density. The picture is shrunk to at most 256 pixels a side and turned to
/// grey; each pixel's detail is `|L(x+1,y) − L(x,y)| + |L(x,y+1) − L(x,y)|` (how much the
/// brightness changes towards its right and lower neighbours). Flat sky, walls and studio
/// backgrounds score near zero, while text, faces and products score high. A window's score is
/// its mean detail, summed in constant time from a summed-area table.
///
/// The first window is always the largest one of the ratio (nothing is lost needlessly), slid
/// along its free axis to the position with the most detail; ties — a flat picture, or a
/// detailed patch that several positions contain in full — go to the position nearest the
/// centre. Each further window is the densest remaining candidate among the largest windows
/// and windows zoomed to 75 % and 56 % of it (zoomed ones only while they keep at least half the
/// output width in real pixels, so nothing is blown up into mush), skipping candidates that
/// overlap a chosen window by more than half. When the picture allows no more distinct windows
/// the first one is repeated.
pub fn choose_crops(
    picture: &DynamicImage,
    output_width: u32,
    output_height: u32,
    count: usize,
) -> Vec<CropRect> {
    let (width, height) = picture.dimensions();
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let detail = DetailMap::new(
        &picture.thumbnail(ANALYSIS_SIDE, ANALYSIS_SIDE),
        Orientation::NoTransforms,
    );
    choose_crops_in(&detail, width, height, output_width, output_height, count)
}

/// [`choose_crops`] on a `width × height` picture whose detail map is already made.
fn choose_crops_in(
    detail: &DetailMap,
    width: u32,
    height: u32,
    output_width: u32,
    output_height: u32,
    count: usize,
) -> Vec<CropRect> {
    if width == 0 || height == 0 || output_width == 0 || output_height == 0 || count == 0 {
        return Vec::new();
    }
    let (base_width, base_height) = largest_window(width, height, output_width, output_height);
    let centre = (f64::from(width) / 2.0, f64::from(height) / 2.0);

    let mut candidates: Vec<Candidate> = Vec::new();
    for (scale_index, scale) in SCALES.iter().enumerate() {
        let crop_width = (f64::from(base_width) * scale).round() as u32;
        let crop_height = (f64::from(base_height) * scale).round() as u32;
        if crop_width == 0 || crop_height == 0 {
            continue;
        }
        if scale_index > 0 && crop_width < output_width / 2 {
            continue;
        }
        for y in positions(height - crop_height.min(height)) {
            for x in positions(width - crop_width.min(width)) {
                let rect = CropRect {
                    x,
                    y,
                    width: crop_width.min(width),
                    height: crop_height.min(height),
                };
                let mid_x = f64::from(x) + f64::from(rect.width) / 2.0;
                let mid_y = f64::from(y) + f64::from(rect.height) / 2.0;
                candidates.push(Candidate {
                    rect,
                    scale_index,
                    density: detail.mean_in(rect, width, height),
                    off_centre: (mid_x - centre.0).hypot(mid_y - centre.1),
                });
            }
        }
    }
    // Densest first; among equals the larger window, then the one nearer the centre.
    candidates.sort_by(|a, b| {
        b.density
            .total_cmp(&a.density)
            .then(a.scale_index.cmp(&b.scale_index))
            .then(a.off_centre.total_cmp(&b.off_centre))
    });

    let mut chosen: Vec<CropRect> = Vec::with_capacity(count);
    if let Some(first) = candidates.iter().find(|c| c.scale_index == 0) {
        chosen.push(first.rect);
    }
    for candidate in &candidates {
        if chosen.len() >= count {
            break;
        }
        if chosen
            .iter()
            .all(|rect| rect.overlap(&candidate.rect) <= MAX_VARIANT_OVERLAP)
        {
            chosen.push(candidate.rect);
        }
    }
    while chosen.len() < count {
        match chosen.first() {
            Some(first) => chosen.push(*first),
            None => break,
        }
    }
    chosen
}

#[derive(Debug)]
struct Candidate {
    rect: CropRect,
    scale_index: usize,
    density: f64,
    off_centre: f64,
}

/// The largest window of the ratio that fits the picture.
fn largest_window(width: u32, height: u32, ratio_width: u32, ratio_height: u32) -> (u32, u32) {
    let (w, h, rw, rh) = (
        u64::from(width),
        u64::from(height),
        u64::from(ratio_width),
        u64::from(ratio_height),
    );
    if w * rh > h * rw {
        // Wider than the ratio: full height, narrower width.
        let crop_width = (h * rw / rh).clamp(1, w);
        (u32::try_from(crop_width).unwrap_or(width), height)
    } else {
        let crop_height = (w * rh / rw).clamp(1, h);
        (width, u32::try_from(crop_height).unwrap_or(height))
    }
}

/// Evenly spaced offsets from 0 to `range` inclusive.
fn positions(range: u32) -> Vec<u32> {
    if range == 0 {
        return vec![0];
    }
    let mut offsets: Vec<u32> = (0..=POSITION_STEPS)
        .map(|step| {
            u32::try_from(u64::from(range) * u64::from(step) / u64::from(POSITION_STEPS))
                .unwrap_or(range)
        })
        .collect();
    offsets.dedup();
    offsets
}

/// Per-pixel detail of a shrunken grey copy, as a summed-area table.
#[derive(Debug)]
struct DetailMap {
    width: u32,
    height: u32,
    /// `(width + 1) × (height + 1)` running sums; row and column 0 are zero.
    sums: Vec<u64>,
}

impl DetailMap {
    /// The map of a small copy of the picture (at most [`ANALYSIS_SIDE`] a side), turned
    /// upright by `orientation`.
    fn new(small: &DynamicImage, orientation: Orientation) -> Self {
        let mut small = DynamicImage::ImageLuma8(small.to_luma8());
        small.apply_orientation(orientation);
        let grey: GrayImage = small.into_luma8();
        let (width, height) = grey.dimensions();
        let stride = width as usize + 1;
        let mut sums = vec![0u64; stride * (height as usize + 1)];
        for y in 0..height {
            let mut row_sum = 0u64;
            for x in 0..width {
                let here = i32::from(grey.get_pixel(x, y).0[0]);
                let right = if x + 1 < width {
                    i32::from(grey.get_pixel(x + 1, y).0[0])
                } else {
                    here
                };
                let below = if y + 1 < height {
                    i32::from(grey.get_pixel(x, y + 1).0[0])
                } else {
                    here
                };
                row_sum += u64::from((right - here).unsigned_abs() + (below - here).unsigned_abs());
                let index = (y as usize + 1) * stride + x as usize + 1;
                sums[index] = sums[index - stride] + row_sum;
            }
        }
        Self {
            width,
            height,
            sums,
        }
    }

    /// Mean detail inside a rectangle given in source pixels.
    fn mean_in(&self, rect: CropRect, source_width: u32, source_height: u32) -> f64 {
        let scale = |value: u32, from: u32, to: u32| -> usize {
            (u64::from(value) * u64::from(to) / u64::from(from.max(1))) as usize
        };
        let left = scale(rect.x, source_width, self.width);
        let top = scale(rect.y, source_height, self.height);
        let right = scale(rect.x + rect.width, source_width, self.width).max(left + 1);
        let bottom = scale(rect.y + rect.height, source_height, self.height).max(top + 1);
        let right = right.min(self.width as usize);
        let bottom = bottom.min(self.height as usize);
        if right <= left || bottom <= top {
            return 0.0;
        }
        let stride = self.width as usize + 1;
        let at = |x: usize, y: usize| self.sums[y * stride + x];
        let total =
            (at(right, bottom) + at(left, top)).saturating_sub(at(left, bottom) + at(right, top));
        total as f64 / ((right - left) * (bottom - top)) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_window_keeps_the_ratio() {
        assert_eq!(largest_window(1200, 600, 2, 3), (400, 600));
        assert_eq!(largest_window(600, 1500, 2, 3), (600, 900));
        assert_eq!(largest_window(1000, 1500, 2, 3), (1000, 1500));
    }

    #[test]
    fn flat_pictures_are_cropped_in_the_centre() {
        let picture =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(1200, 600, image::Rgb([90, 120, 200])));
        let crops = choose_crops(&picture, 2, 3, 1);
        assert_eq!(
            crops,
            [CropRect {
                x: 400,
                y: 0,
                width: 400,
                height: 600
            }]
        );
    }

    #[test]
    fn variants_differ_when_the_picture_allows() {
        let picture =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(1200, 600, image::Rgb([90, 120, 200])));
        let crops = choose_crops(&picture, 2, 3, 3);
        assert_eq!(crops.len(), 3);
        for (i, a) in crops.iter().enumerate() {
            for b in &crops[i + 1..] {
                assert!(
                    a.overlap(b) <= MAX_VARIANT_OVERLAP,
                    "{a:?} and {b:?} overlap"
                );
            }
        }
    }

    #[test]
    fn overlap_is_intersection_over_union() {
        let a = CropRect {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        };
        let b = CropRect {
            x: 5,
            y: 0,
            width: 10,
            height: 10,
        };
        assert!((a.overlap(&a) - 1.0).abs() < 1e-9);
        assert!((a.overlap(&b) - 50.0 / 150.0).abs() < 1e-9);
        assert_eq!(
            a.overlap(&CropRect {
                x: 20,
                y: 20,
                width: 1,
                height: 1
            }),
            0.0
        );
    }

    #[test]
    fn garbage_is_undecodable() {
        let error = prepare(b"definitely not an image", &ImageSettings::default())
            .expect_err("garbage must not decode");
        assert!(
            matches!(error, DraftError::ImageUndecodable { .. }),
            "{error:?}"
        );
    }
}
