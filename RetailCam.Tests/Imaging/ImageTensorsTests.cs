using RetailCam.Engine.Imaging;
using RetailCam.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Imaging;

public class ImageTensorsTests
{
    public ImageTensorsTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    [Fact]
    public void Batch_is_float32_planar_rgb_in_0_to_255_with_pixels_in_place()
    {
        using var first = TestImages.Coordinates(4, 3);
        using var second = TestImages.Solid(4, 3, 255, 0, 9);
        using var scope = NewDisposeScope();
        var batch = ImageTensors.ToBatch([first, second], 4, 3, FitMode.Stretch);

        Assert.Equal(ScalarType.Float32, batch.dtype);
        Assert.Equal([2L, 3, 3, 4], batch.shape);
        Assert.True(batch.is_contiguous());
        // image 0, pixel (x=3, y=2): R = 48, G = 32, B = 7
        Assert.Equal(48f, batch[0, 0, 2, 3].item<float>());
        Assert.Equal(32f, batch[0, 1, 2, 3].item<float>());
        Assert.Equal(7f, batch[0, 2, 2, 3].item<float>());
        Assert.Equal(255f, batch[1, 0].min().item<float>());
        Assert.Equal(9f, batch[1, 2].max().item<float>());
    }

    [Fact]
    public void Channels_last_batch_holds_the_same_values_with_nhwc_strides()
    {
        using var first = TestImages.Coordinates(4, 3);
        using var second = TestImages.Solid(4, 3, 255, 0, 9);
        using var scope = NewDisposeScope();
        var planar = ImageTensors.ToBatch([first, second], 4, 3, FitMode.Stretch);
        var channelsLast = ImageTensors.ToBatch([first, second], 4, 3, FitMode.Stretch, channelsLast: true);

        Assert.Equal(planar.shape, channelsLast.shape);
        Assert.Equal(ScalarType.Float32, channelsLast.dtype);
        Assert.Equal(1L, channelsLast.stride(1));
        Assert.Equal(3L, channelsLast.stride(3));
        Assert.Equal(0f, (planar - channelsLast).abs().max().item<float>());
    }

    [Fact]
    public void Letterbox_pads_and_centre_crop_cuts_the_long_side()
    {
        using var wide = TestImages.Coordinates(8, 4);
        using var letterboxed = ImageFitter.Fit(wide, 8, 8, FitMode.Letterbox);
        Assert.Equal(ImageFitter.DefaultPad, letterboxed[0, 0]);
        Assert.Equal(ImageFitter.DefaultPad, letterboxed[7, 7]);
        Assert.Equal(wide[0, 0], letterboxed[0, 2]);

        using var cropped = ImageFitter.Fit(wide, 4, 4, FitMode.CentreCrop);
        Assert.Equal(wide[2, 0], cropped[0, 0]); // columns 2–5 survive
        Assert.Equal(wide[5, 3], cropped[3, 3]);

        using var stretched = ImageFitter.Fit(wide, 4, 4, FitMode.Stretch);
        Assert.Equal((4, 4), (stretched.Width, stretched.Height));
    }

    [Fact]
    public void Tensor_round_trips_to_an_identical_image()
    {
        using var image = TestImages.Coordinates(5, 7);
        using var scope = NewDisposeScope();
        var tensor = ImageTensors.ToTensor(image, 5, 7, FitMode.Stretch);
        using var back = ImageTensors.ToImage(tensor);
        for (var y = 0; y < 7; y++)
            for (var x = 0; x < 5; x++)
                Assert.Equal(image[x, y], back[x, y]);
    }

    [Fact]
    public void Short_pixel_buffer_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => ImageTensors.FromInterleavedRgb(new byte[10], 1, 2, 2));
        Assert.Contains("12", error.Message);
    }

    [Fact]
    public void Conversion_leaves_only_its_result_alive()
    {
        using var image = TestImages.Coordinates(6, 6);
        void Convert()
        {
            // No scope here: any intermediate tensor the conversion forgot would stay alive.
            using var batch = ImageTensors.ToBatch([image, image], 8, 8, FitMode.Letterbox);
            Assert.Equal(2L, batch.shape[0]);
        }
        Convert(); // first use may create lazily cached tensors
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 100; i++)
            Convert();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
