using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Imaging;

public class ClassMapOverlayTests
{
    private static HeatMap Ramp() => new(new float[,] { { 0f, 1f }, { 1f, 0f } });

    [Theory]
    [InlineData(-0.01f)]
    [InlineData(1.01f)]
    [InlineData(float.NaN)]
    public void Opacity_outside_0_to_1_is_refused(float opacity)
    {
        using var photo = TestImages.Solid(4, 4, 10, 20, 30);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassMapOverlay.Blend(photo, Ramp(), ColourMap.Jet, opacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassMapOverlay.RenderTransparent(Ramp(), ColourMap.Jet, HeatMapAlpha.Constant, opacity));
    }

    [Fact]
    public void Transparent_map_keeps_the_photo_aspect_and_is_capped_on_its_longer_side()
    {
        Assert.Equal((448, 336), ClassMapOverlay.TransparentSize(1024, 768));
        Assert.Equal((336, 448), ClassMapOverlay.TransparentSize(768, 1024));
        Assert.Equal((300, 200), ClassMapOverlay.TransparentSize(300, 200));
        Assert.Equal((1000, 1), ClassMapOverlay.TransparentSize(4000, 1, 1000));
    }

    [Fact]
    public void Map_values_outside_0_to_1_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeatMap(new float[,] { { 0f, 1.5f } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeatMap(new float[,] { { float.NaN } }));
        Assert.Throws<ArgumentException>(() => new HeatMap(new float[3], 2, 2));
    }

    [Fact]
    public void Opacity_0_gives_the_photo_and_1_gives_the_map_and_the_photo_is_not_changed()
    {
        using var photo = TestImages.Coordinates(2, 2);
        using var none = ClassMapOverlay.Blend(photo, Ramp(), ColourMap.Jet, 0f);
        using var full = ClassMapOverlay.Blend(photo, Ramp(), ColourMap.Jet, 1f);
        Assert.Equal(photo[1, 0], none[1, 0]);
        Assert.Equal(ColourMap.Jet[255], full[1, 0]);
        Assert.Equal(ColourMap.Jet[0], full[0, 0]);
        Assert.Equal(new Rgb24(16, 0, 7), photo[1, 0]);
    }

    [Fact]
    public void Half_opacity_is_the_average_of_photo_and_colour()
    {
        using var photo = TestImages.Solid(1, 1, 200, 100, 0);
        using var half = ClassMapOverlay.Blend(photo, new HeatMap(new float[,] { { 0f } }), ColourMap.Jet, 0.5f);
        ImageFileDecoderTests.AssertClose(new Rgb24(100, 50, 64), half[0, 0], 1);
    }

    [Fact]
    public void Small_map_is_upsampled_to_the_photo_size()
    {
        using var photo = TestImages.Solid(16, 16, 0, 0, 0);
        using var overlay = ClassMapOverlay.Blend(photo, Ramp(), ColourMap.Viridis, 1f);
        Assert.Equal((16, 16), (overlay.Width, overlay.Height));
        Assert.Equal(ColourMap.Viridis[255], overlay[15, 0]);
        Assert.Equal(ColourMap.Viridis[0], overlay[0, 0]);
    }

    [Fact]
    public void Transparent_png_takes_alpha_from_the_value_and_survives_encoding()
    {
        using var heat = ClassMapOverlay.RenderTransparent(Ramp(), ColourMap.Turbo, HeatMapAlpha.FromValue, opacity: 0.8f);
        var png = ClassMapOverlay.EncodePng(heat);
        using var decoded = Image.Load<Rgba32>(png);
        Assert.Equal(0, decoded[0, 0].A);
        Assert.Equal(204, decoded[1, 0].A);
        Assert.Equal(ColourMap.Turbo[255].R, decoded[1, 0].R);

        using var constant = ClassMapOverlay.RenderTransparent(Ramp(), ColourMap.Turbo, HeatMapAlpha.Constant, opacity: 0.5f, width: 4, height: 4);
        Assert.Equal((4, 4), (constant.Width, constant.Height));
        Assert.Equal(128, constant[0, 0].A);
    }
}
