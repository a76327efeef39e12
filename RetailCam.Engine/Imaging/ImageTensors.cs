using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Imaging;

/// <summary>
/// Images to the network's input: float32 [B,3,H,W], RGB, values 0–255 (the network normalises
/// itself, see Models/InputNormalization). Pixels are copied once, as bytes, into one tensor; the
/// layout change and the conversion to float run in libtorch.
/// </summary>
public static class ImageTensors
{
    /// <summary>Fits each image to width × height and stacks them into one batch tensor.</summary>
    public static Tensor ToBatch(IReadOnlyList<Image<Rgb24>> images, int width, int height, FitMode mode, Device? device = null, bool channelsLast = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
            throw new ArgumentException("A batch needs at least one image.", nameof(images));
        var imageBytes = width * height * 3;
        var pixels = new byte[checked(images.Count * imageBytes)];
        for (var i = 0; i < images.Count; i++)
        {
            var slot = pixels.AsSpan(i * imageBytes, imageBytes);
            if (images[i].Width == width && images[i].Height == height)
            {
                images[i].CopyPixelDataTo(slot);
                continue;
            }
            using var fitted = ImageFitter.Fit(images[i], width, height, mode);
            fitted.CopyPixelDataTo(slot);
        }
        return FromInterleavedRgb(pixels, images.Count, height, width, device, channelsLast);
    }

    /// <summary>
    /// Batch tensor from interleaved RGB bytes laid out [B,H,W,3] (what ImageSharp's
    /// CopyPixelDataTo writes). The result is contiguous [B,3,H,W] float32 on <paramref name="device"/>,
    /// or, with <paramref name="channelsLast"/>, [B,3,H,W] with NHWC strides: the bytes' own layout,
    /// so the conversion to float is the only pass.
    /// </summary>
    public static Tensor FromInterleavedRgb(ReadOnlySpan<byte> pixels, int count, int height, int width, Device? device = null, bool channelsLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var expected = (long)count * height * width * 3;
        if (pixels.Length < expected)
            throw new ArgumentException($"Expected at least {expected} bytes for [{count},{height},{width},3], got {pixels.Length}.", nameof(pixels));

        using var scope = NewDisposeScope();
        var interleaved = empty([count, height, width, 3], ScalarType.Byte);
        // The one managed copy: straight into libtorch's storage.
        pixels[..(int)expected].CopyTo(interleaved.bytes);
        var planar = interleaved.permute(0, 3, 1, 2);
        if (device is not null && device.type != DeviceType.CPU)
            planar = planar.to(device); // move the bytes (4× fewer than floats), convert there
        if (channelsLast)
            return interleaved.to(ScalarType.Float32, planar.device).permute(0, 3, 1, 2).MoveToOuterDisposeScope();
        // copy_ converts the type and the layout in one pass; to_type would keep the permuted
        // strides and need a second pass to become contiguous.
        var result = empty([count, 3, height, width], ScalarType.Float32, planar.device);
        result.copy_(planar);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>One image as [1,3,H,W], fitted to the size.</summary>
    public static Tensor ToTensor(Image<Rgb24> image, int width, int height, FitMode mode, Device? device = null) =>
        ToBatch([image], width, height, mode, device);

    /// <summary>[3,H,W] or [1,3,H,W] float 0–255 back to an image (for snapshots and tests).</summary>
    public static Image<Rgb24> ToImage(Tensor chw)
    {
        ArgumentNullException.ThrowIfNull(chw);
        using var scope = NewDisposeScope();
        var t = chw.dim() == 4 ? chw[0] : chw;
        if (t.dim() != 3 || t.shape[0] != 3)
            throw new ArgumentException($"Expected [3,H,W] or [1,3,H,W], got [{string.Join(",", chw.shape)}].", nameof(chw));
        var height = (int)t.shape[1];
        var width = (int)t.shape[2];
        var hwc = t.detach().cpu().clamp(0, 255).round().to_type(ScalarType.Byte).permute(1, 2, 0).contiguous();
        return Image.LoadPixelData<Rgb24>(hwc.bytes, width, height);
    }
}
