//! A V4L2 camera with read() I/O: open the device, VIDIOC_QUERYCAP (must
//! capture video and support read()), VIDIOC_S_FMT to YUYV at the configured
//! size, then each capture reads one frame and converts it to RGB (BT.601).
//! The ioctl structures are handled as raw bytes at the kernel's offsets so
//! the parsing can be tested on recorded buffers without a device.

use super::{yuyv, CameraError, FrameSource};
use crate::frame::Frame;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::io::AsRawFd;

/// `V4L2_CAP_VIDEO_CAPTURE`.
const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
/// `V4L2_CAP_READWRITE`.
const CAP_READWRITE: u32 = 0x0100_0000;
/// `V4L2_CAP_DEVICE_CAPS`: `device_caps` is valid.
const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
/// `V4L2_BUF_TYPE_VIDEO_CAPTURE`.
const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
/// `V4L2_FIELD_NONE`.
const FIELD_NONE: u32 = 1;
/// Largest frame a driver may announce (`sizeimage`): the capture buffer is
/// allocated from it. A 4K YUYV frame is 16.6 MB.
pub const MAX_FRAME_BYTES: usize = 64 << 20;
/// `V4L2_PIX_FMT_YUYV` = fourcc('Y','U','Y','V').
pub const PIX_FMT_YUYV: u32 = u32::from_le_bytes(*b"YUYV");
/// Size of `struct v4l2_capability`.
pub const CAPABILITY_SIZE: usize = 104;
/// Offset of the `fmt` union in `struct v4l2_format` (it holds pointers, so pointer-aligned).
pub const FORMAT_UNION_OFFSET: usize = std::mem::align_of::<*const u8>();
/// Size of `struct v4l2_format` (type + padding + the 200-byte union).
pub const FORMAT_SIZE: usize = FORMAT_UNION_OFFSET + 200;

/// `_IOC(dir, 'V', nr, size)` as Linux encodes it on x86 and ARM.
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | ((b'V' as u64) << 8) | nr
}
/// `VIDIOC_QUERYCAP` = _IOR('V', 0, struct v4l2_capability).
const VIDIOC_QUERYCAP: u64 = ioc(2, 0, CAPABILITY_SIZE);
/// `VIDIOC_S_FMT` = _IOWR('V', 5, struct v4l2_format).
const VIDIOC_S_FMT: u64 = ioc(3, 5, FORMAT_SIZE);

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(b)
}

fn put_u32(bytes: &mut [u8], offset: usize, v: u32) {
    bytes[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

/// What `VIDIOC_QUERYCAP` says, as the source needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    /// Driver name.
    pub driver: String,
    /// Card name.
    pub card: String,
    /// Capabilities of this device node.
    pub caps: u32,
}

/// Parses a `struct v4l2_capability`.
pub fn parse_capability(bytes: &[u8; CAPABILITY_SIZE]) -> Capability {
    let text = |b: &[u8]| {
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let all = u32_at(bytes, 84);
    let device = u32_at(bytes, 88);
    Capability {
        driver: text(&bytes[0..16]),
        card: text(&bytes[16..48]),
        caps: if all & CAP_DEVICE_CAPS != 0 {
            device
        } else {
            all
        },
    }
}

/// The negotiated capture geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes a line.
    pub bytes_per_line: u32,
    /// Bytes a frame.
    pub size_image: u32,
}

impl Geometry {
    /// Converts a buffer the driver filled (its first `len` bytes, as read()
    /// returned them) into an RGB frame of this geometry.
    pub fn convert(&self, buf: &[u8]) -> Result<Frame, CameraError> {
        yuyv::to_frame(buf, self.width, self.height, self.bytes_per_line as usize)
    }
}

/// A `struct v4l2_format` asking for YUYV capture at `width` x `height`.
pub fn format_request(width: u32, height: u32) -> [u8; FORMAT_SIZE] {
    let mut b = [0u8; FORMAT_SIZE];
    let p = FORMAT_UNION_OFFSET;
    put_u32(&mut b, 0, BUF_TYPE_VIDEO_CAPTURE);
    put_u32(&mut b, p, width);
    put_u32(&mut b, p + 4, height);
    put_u32(&mut b, p + 8, PIX_FMT_YUYV);
    put_u32(&mut b, p + 12, FIELD_NONE);
    b
}

/// Parses the `struct v4l2_format` the driver returned from `VIDIOC_S_FMT`.
pub fn parse_format(device: &str, bytes: &[u8; FORMAT_SIZE]) -> Result<Geometry, CameraError> {
    let p = FORMAT_UNION_OFFSET;
    let pixfmt = u32_at(bytes, p + 8);
    if pixfmt != PIX_FMT_YUYV {
        return Err(CameraError::Unsupported {
            device: device.to_string(),
            problem: format!(
                "driver chose pixel format {:?}, not YUYV",
                String::from_utf8_lossy(&pixfmt.to_le_bytes())
            ),
        });
    }
    let width = u32_at(bytes, p);
    let height = u32_at(bytes, p + 4);
    let too_large = || CameraError::Unsupported {
        device: device.to_string(),
        problem: format!(
            "driver answered a {width}x{height} frame of more than {MAX_FRAME_BYTES} bytes"
        ),
    };
    if width == 0 || height == 0 {
        return Err(CameraError::Unsupported {
            device: device.to_string(),
            problem: format!("driver answered an empty {width}x{height} frame"),
        });
    }
    // Driver-stated u32s, computed in u64: a line cannot overflow, a frame
    // saturates (and is then refused as too large).
    let line = u64::from(width) * 2;
    let bytes_per_line = u64::from(u32_at(bytes, p + 16)).max(line);
    let size_image =
        u64::from(u32_at(bytes, p + 20)).max(bytes_per_line.saturating_mul(u64::from(height)));
    if size_image > MAX_FRAME_BYTES as u64 {
        return Err(too_large());
    }
    // size_image is bounded; bytes_per_line exceeds it only in a frame of no
    // lines, where a line too long for a u32 is refused all the same.
    let (Ok(bytes_per_line), Ok(size_image)) =
        (u32::try_from(bytes_per_line), u32::try_from(size_image))
    else {
        return Err(too_large());
    };
    Ok(Geometry {
        width,
        height,
        bytes_per_line,
        size_image,
    })
}

/// A V4L2 capture device (read() I/O, YUYV).
pub struct V4l2Source {
    device: String,
    file: File,
    geometry: Geometry,
    buf: Vec<u8>,
}

impl V4l2Source {
    /// Opens `device` (e.g. `/dev/video0`, from the board config) at 640x480.
    pub fn open(device: &str) -> Result<V4l2Source, CameraError> {
        V4l2Source::open_with_size(device, 640, 480)
    }

    /// Opens `device` and asks for YUYV at `width` x `height` (the driver may adjust it).
    pub fn open_with_size(
        device: &str,
        width: u32,
        height: u32,
    ) -> Result<V4l2Source, CameraError> {
        let dev_err = |what, source| CameraError::Device {
            device: device.to_string(),
            what,
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(device)
            .map_err(|e| dev_err("open", e))?;
        let fd = file.as_raw_fd();
        let mut cap = [0u8; CAPABILITY_SIZE];
        // SAFETY: `cap` is a writable buffer of the size VIDIOC_QUERYCAP encodes.
        if unsafe { libc::ioctl(fd, VIDIOC_QUERYCAP as _, cap.as_mut_ptr()) } < 0 {
            return Err(dev_err("VIDIOC_QUERYCAP", std::io::Error::last_os_error()));
        }
        let capability = parse_capability(&cap);
        if capability.caps & CAP_VIDEO_CAPTURE == 0 || capability.caps & CAP_READWRITE == 0 {
            return Err(CameraError::Unsupported {
                device: device.to_string(),
                problem: format!(
                    "{} ({}) cannot capture video with read() (caps {:#x})",
                    capability.card, capability.driver, capability.caps
                ),
            });
        }
        // A u64-aligned buffer for the pointer-aligned struct.
        let mut raw = [0u64; FORMAT_SIZE.div_ceil(8)];
        let request = format_request(width, height);
        let mut fmt = [0u8; FORMAT_SIZE];
        fmt.copy_from_slice(&request);
        // SAFETY: `raw` is 8-aligned and at least FORMAT_SIZE bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(fmt.as_ptr(), raw.as_mut_ptr().cast::<u8>(), FORMAT_SIZE)
        };
        // SAFETY: `raw` is a writable, aligned buffer of the size VIDIOC_S_FMT encodes.
        if unsafe { libc::ioctl(fd, VIDIOC_S_FMT as _, raw.as_mut_ptr()) } < 0 {
            return Err(dev_err("VIDIOC_S_FMT", std::io::Error::last_os_error()));
        }
        // SAFETY: copies FORMAT_SIZE bytes back out of `raw`.
        unsafe {
            std::ptr::copy_nonoverlapping(raw.as_ptr().cast::<u8>(), fmt.as_mut_ptr(), FORMAT_SIZE)
        };
        let geometry = parse_format(device, &fmt)?;
        log::info!(
            "camera {device}: {} ({}) YUYV {}x{}",
            capability.card,
            capability.driver,
            geometry.width,
            geometry.height
        );
        Ok(V4l2Source {
            device: device.to_string(),
            file,
            buf: vec![0; geometry.size_image as usize],
            geometry,
        })
    }

    /// The negotiated geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
}

impl FrameSource for V4l2Source {
    fn capture(&mut self) -> Result<Frame, CameraError> {
        let n = self
            .file
            .read(&mut self.buf)
            .map_err(|source| CameraError::Device {
                device: self.device.clone(),
                what: "read",
                source,
            })?;
        self.geometry.convert(&self.buf[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        assert_eq!(VIDIOC_QUERYCAP, 0x8068_5600);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(VIDIOC_S_FMT, 0xc0d0_5605);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(VIDIOC_S_FMT, 0xc0cc_5605);
    }

    #[test]
    fn parses_a_recorded_querycap_answer() {
        let mut b = [0u8; CAPABILITY_SIZE];
        b[..11].copy_from_slice(b"uvcvideo\0\0\0");
        b[16..27].copy_from_slice(b"HD Webcam\0\0");
        put_u32(&mut b, 84, 0x8420_0001);
        put_u32(&mut b, 88, 0x0120_0001);
        let c = parse_capability(&b);
        assert_eq!(c.driver, "uvcvideo");
        assert_eq!(c.card, "HD Webcam");
        assert_eq!(
            c.caps & (CAP_VIDEO_CAPTURE | CAP_READWRITE),
            CAP_VIDEO_CAPTURE | CAP_READWRITE
        );
    }

    #[test]
    fn parses_the_driver_answer_to_s_fmt() {
        let mut b = format_request(640, 480);
        // The driver adjusted to 320x240 with padded lines.
        let p = FORMAT_UNION_OFFSET;
        put_u32(&mut b, p, 320);
        put_u32(&mut b, p + 4, 240);
        put_u32(&mut b, p + 16, 704);
        put_u32(&mut b, p + 20, 704 * 240);
        let g = parse_format("/dev/video0", &b).unwrap();
        assert_eq!(
            g,
            Geometry {
                width: 320,
                height: 240,
                bytes_per_line: 704,
                size_image: 704 * 240
            }
        );
        put_u32(&mut b, p + 8, u32::from_le_bytes(*b"MJPG"));
        assert!(matches!(
            parse_format("/dev/video0", &b),
            Err(CameraError::Unsupported { .. })
        ));
    }

    #[test]
    fn impossible_geometries_are_refused_not_overflowed() {
        // Found by the v4l2_frame fuzz target: a line of 0xe2e2e2e2 bytes x 3
        // lines overflowed u32 (a panic in debug builds, a wrong buffer size in release).
        let p = FORMAT_UNION_OFFSET;
        for (width, height, line, size) in [
            (4, 3, 0xe2e2_e2e2, 0),
            (u32::MAX, 1, 0, 0),
            (1 << 31, 0, 0, 0),
            (640, 480, 0, u32::MAX),
            (0xe800_0004, 0xafcc_e92b, 0, 0),
            // Also found by it: 0 x 3.5 billion lines took a minute to convert.
            (0, 0xd100_0000, 0, 0),
            (640, 0, 0, 0),
        ] {
            let mut b = format_request(width, height);
            put_u32(&mut b, p + 16, line);
            put_u32(&mut b, p + 20, size);
            assert!(
                matches!(
                    parse_format("/dev/video0", &b),
                    Err(CameraError::Unsupported { .. })
                ),
                "{width}x{height} line {line} size {size}"
            );
        }
    }

    #[test]
    fn opening_a_missing_device_is_an_error() {
        assert!(matches!(
            V4l2Source::open("/dev/video-keel-none"),
            Err(CameraError::Device { what: "open", .. })
        ));
    }
}
