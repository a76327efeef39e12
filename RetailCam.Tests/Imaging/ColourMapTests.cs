using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Imaging;

public class ColourMapTests
{
    private static double Luma(Rgb24 c) => 0.2126 * c.R + 0.7152 * c.G + 0.0722 * c.B;

    [Fact]
    public void Every_map_has_256_entries()
    {
        foreach (var map in ColourMap.All)
            Assert.Equal(256, map.Table.Count);
    }

    [Fact]
    public void Jet_runs_from_dark_blue_to_dark_red()
    {
        Assert.Equal(new Rgb24(0, 0, 128), ColourMap.Jet[0]);
        Assert.Equal(new Rgb24(128, 0, 0), ColourMap.Jet[255]);
        Assert.Equal(ColourMap.Jet[0], ColourMap.Jet.Map(-3f));
        Assert.Equal(ColourMap.Jet[255], ColourMap.Jet.Map(7f));
    }

    [Fact]
    public void Viridis_endpoints_match_matplotlib_and_lightness_rises_throughout()
    {
        // matplotlib's reference table: first (68, 1, 84), last (253, 231, 37).
        Assert.Equal(new Rgb24(68, 1, 84), ColourMap.Viridis[0]);
        Assert.Equal(new Rgb24(253, 231, 37), ColourMap.Viridis[255]);
        for (var i = 8; i < 256; i += 8)
            Assert.True(Luma(ColourMap.Viridis[i]) > Luma(ColourMap.Viridis[i - 8]), $"viridis lightness falls at {i}");
    }

    [Fact]
    public void Turbo_runs_dark_blue_to_bright_middle_to_dark_red()
    {
        Assert.Equal(new Rgb24(48, 18, 59), ColourMap.Turbo[0]);   // Google's table: (0.18995, 0.07176, 0.23217)
        Assert.Equal(new Rgb24(122, 4, 3), ColourMap.Turbo[255]);  // (0.47960, 0.01583, 0.01055)
        var low = ColourMap.Turbo[0];
        var middle = ColourMap.Turbo[128];
        var high = ColourMap.Turbo[255];
        Assert.True(low.B > low.R && Luma(low) < 60, $"low end {low}");
        Assert.True(high.R > 4 * high.B && high.R > 4 * high.G && Luma(high) < 80, $"high end {high}");
        Assert.True(Luma(middle) > 150, $"middle {middle}");
    }

    [Fact]
    public void Maps_are_found_by_name_and_unknown_names_are_refused()
    {
        Assert.Same(ColourMap.Turbo, ColourMap.FromName("TURBO"));
        Assert.Throws<ArgumentException>(() => ColourMap.FromName("rainbow"));
    }
}
