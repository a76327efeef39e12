using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Imaging;

public class ImageFileDecoderTests
{
    private readonly ImageFileDecoder decoder = new();

    private static ImageDecodeException Refused(Action decode) => Assert.Throws<ImageDecodeException>(decode);

    [Fact]
    public void Zero_byte_file_is_refused_as_empty()
    {
        var path = Path.Combine(TestImages.TempDirectory(), "empty.png");
        File.WriteAllBytes(path, []);
        var error = Refused(() => decoder.Decode(path));
        Assert.Equal(ImageDecodeErrorKind.Empty, error.Kind);
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData(2, 3)]   // cut inside the pixel data
    [InlineData(-13, 0)] // pixel data complete, end chunk missing: ImageSharp alone accepts this
    public void Truncated_png_is_refused_as_corrupt(int cut, int of)
    {
        using var image = TestImages.Coordinates(16, 16);
        var png = TestImages.Encode(image, new PngEncoder());
        var keep = of > 0 ? png.Length * cut / of : png.Length + cut;
        var error = Refused(() => decoder.Decode(png[..keep], "cut.png"));
        Assert.Equal(ImageDecodeErrorKind.CorruptOrTruncated, error.Kind);
    }

    [Theory]
    [InlineData(2, 3)]  // cut inside the scan
    [InlineData(-6, 0)] // the last few bytes of the scan and the end marker missing
    public void Truncated_jpeg_is_refused_as_corrupt(int cut, int of)
    {
        using var image = TestImages.Coordinates(64, 64);
        var jpeg = TestImages.Encode(image, new JpegEncoder { Quality = 90 });
        var keep = of > 0 ? jpeg.Length * cut / of : jpeg.Length + cut;
        var error = Refused(() => decoder.Decode(jpeg[..keep], "cut.jpg"));
        Assert.Equal(ImageDecodeErrorKind.CorruptOrTruncated, error.Kind);
    }

    [Fact]
    public void Png_header_claiming_100000_by_100000_is_refused_before_any_pixel_is_allocated()
    {
        var png = PngWithHeaderOnly(100_000, 100_000);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Refused(() => decoder.Decode(png, "bomb.png"));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(ImageDecodeErrorKind.TooLarge, error.Kind);
        Assert.Contains("100000 × 100000", error.Message);
        Assert.True(allocated < 10_000_000, $"{allocated} bytes allocated while refusing a header");
    }

    [Fact]
    public void Text_file_named_jpg_is_not_an_image()
    {
        var path = Path.Combine(TestImages.TempDirectory(), "notes.jpg");
        File.WriteAllText(path, "These are my shopping notes, not a photo.\n");
        var error = Refused(() => decoder.Decode(path));
        Assert.Equal(ImageDecodeErrorKind.NotAnImage, error.Kind);
    }

    [Fact]
    public void Tga_is_recognised_but_unsupported()
    {
        using var image = TestImages.Solid(4, 4, 1, 2, 3);
        var error = Refused(() => decoder.Decode(TestImages.Encode(image, new TgaEncoder()), "x.tga"));
        Assert.Equal(ImageDecodeErrorKind.UnsupportedFormat, error.Kind);
    }

    [Fact]
    public void File_over_the_byte_limit_is_refused()
    {
        using var image = TestImages.Coordinates(16, 16);
        var png = TestImages.Encode(image, new PngEncoder());
        var small = new ImageFileDecoder(new ImagingOptions { MaxBytes = png.Length - 1 });
        Assert.Equal(ImageDecodeErrorKind.TooLarge, Refused(() => small.Decode(png, "big.png")).Kind);
    }

    [Fact]
    public void Image_over_the_pixel_limit_is_refused()
    {
        using var image = TestImages.Coordinates(16, 16);
        var png = TestImages.Encode(image, new PngEncoder());
        var small = new ImageFileDecoder(new ImagingOptions { MaxPixels = 255 });
        Assert.Equal(ImageDecodeErrorKind.TooLarge, Refused(() => small.Decode(png, "big.png")).Kind);
    }

    [Fact]
    public void Invalid_options_fail_validation()
    {
        Assert.Throws<ValidationException>(() => new ImageFileDecoder(new ImagingOptions { MaxBytes = 0 }));
        Assert.Throws<ValidationException>(() => new ImageFileDecoder(new ImagingOptions { MaxPixels = -1 }));
        Assert.Throws<ValidationException>(() => new ImageFileDecoder(new ImagingOptions { MaxSide = 0 }));
    }

    [Fact]
    public void Cmyk_jpeg_decodes_to_rgb()
    {
        // ImageSharp 2.1 writes YCbCr even when asked for CMYK, so the test writes a real
        // four-component Adobe JPEG itself (see CmykJpeg).
        var jpeg = CmykJpeg.Uniform8x8(cyan: 200, magenta: 40, yellow: 40, black: 255);
        Assert.Equal(4, JpegComponentCount(jpeg));
        using var decoded = decoder.Decode(jpeg, "cmyk.jpg");
        AssertClose(new Rgb24(200, 40, 40), decoded[4, 4], 3);
    }

    [Fact]
    public void Sixteen_bit_png_decodes_to_8_bit_rgb()
    {
        using var image = new Image<Rgb48>(4, 4, new Rgb48(65535, 32768, 0));
        var png = TestImages.Encode(image, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb });
        Assert.Equal(48, decoder.Identify(png, "deep.png").BitsPerPixel);
        using var decoded = decoder.Decode(png, "deep.png");
        AssertClose(new Rgb24(255, 128, 0), decoded[1, 1], 1);
    }

    [Fact]
    public void Grey_png_with_alpha_is_composited_on_white()
    {
        using var image = new Image<La16>(2, 1);
        image[0, 0] = new La16(100, 255); // opaque grey
        image[1, 0] = new La16(0, 0);     // fully transparent black
        var png = TestImages.Encode(image, new PngEncoder { ColorType = PngColorType.GrayscaleWithAlpha });
        using var decoded = decoder.Decode(png, "grey-alpha.png");
        Assert.Equal(new Rgb24(100, 100, 100), decoded[0, 0]);
        Assert.Equal(new Rgb24(255, 255, 255), decoded[1, 0]);
    }

    [Fact]
    public void Opaque_pngs_and_jpegs_take_the_direct_rgb_path_and_decode_the_same_while_alpha_pngs_are_composited()
    {
        using var rgb = TestImages.Coordinates(8, 6);
        var opaque = TestImages.Encode(rgb, new PngEncoder { ColorType = PngColorType.Rgb });
        using var grey = new Image<L8>(3, 2, new L8(77));
        var greyPng = TestImages.Encode(grey, new PngEncoder { ColorType = PngColorType.Grayscale });
        using var rgba = new Image<Rgba32>(2, 1);
        rgba[0, 0] = new Rgba32(10, 20, 30, 255);
        rgba[1, 0] = new Rgba32(0, 0, 0, 0);
        var alphaPng = TestImages.Encode(rgba, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });

        Assert.False(decoder.Identify(opaque, "rgb.png").MayHaveAlpha);
        Assert.False(decoder.Identify(greyPng, "grey.png").MayHaveAlpha);
        Assert.False(decoder.Identify(TestImages.Encode(rgb, new JpegEncoder()), "x.jpg").MayHaveAlpha);
        Assert.True(decoder.Identify(alphaPng, "rgba.png").MayHaveAlpha);

        using var decoded = decoder.Decode(opaque, "rgb.png");
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 8; x++)
                Assert.Equal(rgb[x, y], decoded[x, y]);
        using var decodedGrey = decoder.Decode(greyPng, "grey.png");
        Assert.Equal(new Rgb24(77, 77, 77), decodedGrey[2, 1]);
        using var decodedAlpha = decoder.Decode(alphaPng, "rgba.png");
        Assert.Equal(new Rgb24(10, 20, 30), decodedAlpha[0, 0]);
        Assert.Equal(new Rgb24(255, 255, 255), decodedAlpha[1, 0]);
    }

    [Fact]
    public void Exif_orientation_6_jpeg_comes_out_upright_with_sides_swapped()
    {
        // Stored: left half red, right half blue. Orientation 6 means "rotate 90° clockwise to
        // display", so the stored left edge becomes the top.
        using var image = TestImages.Solid(32, 16, 220, 20, 20);
        for (var y = 0; y < 16; y++)
            for (var x = 16; x < 32; x++)
                image[x, y] = new Rgb24(20, 20, 220);
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        var jpeg = TestImages.Encode(image, new JpegEncoder());
        var header = decoder.Identify(jpeg, "rotated.jpg");
        Assert.Equal((32, 16), (header.Width, header.Height));
        using var decoded = decoder.Decode(jpeg, "rotated.jpg");
        Assert.Equal((16, 32), (decoded.Width, decoded.Height));
        AssertClose(new Rgb24(220, 20, 20), decoded[8, 4], 30);
        AssertClose(new Rgb24(20, 20, 220), decoded[8, 28], 30);
    }

    [Fact]
    public void Animated_gif_gives_its_first_frame_only()
    {
        using var image = TestImages.Solid(8, 8, 255, 0, 0);
        using var second = TestImages.Solid(8, 8, 0, 0, 255);
        image.Frames.AddFrame(second.Frames.RootFrame);
        var gif = TestImages.Encode(image, new GifEncoder());
        using var decoded = decoder.Decode(gif, "anim.gif");
        Assert.Single(decoded.Frames);
        AssertClose(new Rgb24(255, 0, 0), decoded[4, 4], 2);
    }

    public static TheoryData<string> LosslessFormats => ["png", "webp", "bmp", "tiff"];

    [Theory]
    [MemberData(nameof(LosslessFormats))]
    public void Lossless_formats_round_trip_exactly(string format)
    {
        using var image = TestImages.Coordinates(8, 6);
        var bytes = TestImages.Encode(image, format switch
        {
            "png" => new PngEncoder(),
            "webp" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            "bmp" => new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 },
            _ => new TiffEncoder(),
        });
        using var decoded = decoder.Decode(bytes, $"x.{format}");
        Assert.Equal((8, 6), (decoded.Width, decoded.Height));
        Assert.Equal(image[5, 3], decoded[5, 3]);
        Assert.Equal(image[7, 5], decoded[7, 5]);
    }

    [Fact]
    public async Task Upload_stream_over_the_byte_limit_is_refused_without_reading_it_all()
    {
        var small = new ImageFileDecoder(new ImagingOptions { MaxBytes = 1000 });
        using var stream = new MemoryStream(new byte[1_000_000]);
        var error = await Assert.ThrowsAsync<ImageDecodeException>(() => small.DecodeAsync(stream, "upload"));
        Assert.Equal(ImageDecodeErrorKind.TooLarge, error.Kind);
        Assert.True(stream.Position < 200_000);
    }

    internal static void AssertClose(Rgb24 expected, Rgb24 actual, int tolerance)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance && Math.Abs(expected.B - actual.B) <= tolerance,
            $"expected {expected} ± {tolerance}, got {actual}");
    }

    /// <summary>A PNG signature, an IHDR with a valid CRC for the given size, and an IEND: no pixel data.</summary>
    internal static byte[] PngWithHeaderOnly(int width, int height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB
        WriteChunk(stream, "IHDR", ihdr);
        WriteChunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var buffer = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        stream.Write(buffer);
        var typeAndData = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(buffer, Crc32(typeAndData));
        stream.Write(buffer);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>Number of components in the JPEG's start-of-frame segment.</summary>
    private static int JpegComponentCount(byte[] jpeg)
    {
        for (var i = 2; i + 9 < jpeg.Length;)
        {
            if (jpeg[i] != 0xFF) return -1;
            var marker = jpeg[i + 1];
            var length = (jpeg[i + 2] << 8) | jpeg[i + 3];
            if (marker is 0xC0 or 0xC1 or 0xC2)
                return jpeg[i + 9];
            i += 2 + length;
        }
        return -1;
    }
}
