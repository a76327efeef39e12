using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Data;

/// <summary>
/// Random resized crop, horizontal flip and colour jitter (and optionally a random shop-scene
/// background), all as ImageSharp operations. Returns a new square image; the source is not changed.
/// </summary>
public sealed class TrainingAugmenter
{
    private static readonly double MinLogAspect = Math.Log(3.0 / 4.0);
    private static readonly double MaxLogAspect = Math.Log(4.0 / 3.0);

    private readonly AugmentationOptions options;
    private readonly int size;
    private readonly ShopSceneComposer composer;

    public TrainingAugmenter(AugmentationOptions options, int size)
    {
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 8);
        this.size = size;
        // Article sizes relative to the output, as the demo scenes use at 224 (56–160 px).
        composer = new ShopSceneComposer(new ShopSceneOptions
        {
            Size = size,
            MinArticleSize = Math.Max(4, size / 4),
            MaxArticleSize = Math.Max(4, size * 5 / 7),
            MaxArticles = 1,
        });
    }

    public Image<Rgb24> Apply(Image<Rgb24> source, Random random)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(random);
        if (!options.Enabled)
            return ImageFitter.Fit(source, size, size, FitMode.CentreCrop);

        Image<Rgb24> result;
        if (options.SceneBackgroundProbability > 0 && random.NextDouble() < options.SceneBackgroundProbability)
        {
            using var coverage = source.CloneAs<L8>();
            using var scene = composer.ComposeSingle(new SceneArticle("", coverage), random);
            result = scene.Image.Clone();
        }
        else if (options.RandomResizedCrop && options.Strength > 0)
        {
            var crop = RandomCrop(source.Width, source.Height, random);
            result = source.Clone(x => x.Crop(crop).Resize(size, size));
        }
        else
        {
            result = ImageFitter.Fit(source, size, size, FitMode.CentreCrop);
        }

        var flip = options.HorizontalFlip && random.Next(2) == 1;
        var jitter = options.ColourJitter && options.JitterAmount > 0;
        if (flip || jitter)
        {
            var amount = options.JitterAmount;
            var brightness = (float)(1 + amount * (2 * random.NextDouble() - 1));
            var contrast = (float)(1 + amount * (2 * random.NextDouble() - 1));
            var saturation = (float)(1 + amount * (2 * random.NextDouble() - 1));
            result.Mutate(x =>
            {
                if (flip) x.Flip(FlipMode.Horizontal);
                // Brightness, contrast and saturation are all colour matrices: one product, one pass.
                if (jitter)
                    x.Filter(KnownFilterMatrices.CreateBrightnessFilter(brightness)
                        * KnownFilterMatrices.CreateContrastFilter(contrast)
                        * KnownFilterMatrices.CreateSaturateFilter(saturation));
            });
        }
        return result;
    }

    /// <summary>torchvision's RandomResizedCrop rule: area and log-aspect uniform, ten tries, then a centre crop.</summary>
    private Rectangle RandomCrop(int width, int height, Random random)
    {
        var area = (double)width * height;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var targetArea = area * (options.MinimumCropArea + (1 - options.MinimumCropArea) * random.NextDouble());
            var aspect = Math.Exp(MinLogAspect + (MaxLogAspect - MinLogAspect) * random.NextDouble());
            var w = (int)Math.Round(Math.Sqrt(targetArea * aspect));
            var h = (int)Math.Round(Math.Sqrt(targetArea / aspect));
            if (w >= 1 && h >= 1 && w <= width && h <= height)
                return new Rectangle(random.Next(0, width - w + 1), random.Next(0, height - h + 1), w, h);
        }
        var side = Math.Min(width, height);
        return new Rectangle((width - side) / 2, (height - side) / 2, side, side);
    }
}
