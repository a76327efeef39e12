using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Data;

/// <summary>
/// Random resized crop, horizontal flip and colour jitter, all as ImageSharp operations; and training
/// scenes: products of several photos cut out and pasted onto a random shop-scene background.
/// Returns a new square image; the sources are not changed.
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
        composer = new ShopSceneComposer(ShopSceneOptions.ForSide(size, options.MaxSceneProducts));
    }

    public AugmentationOptions Options => options;

    public Image<Rgb24> Apply(Image<Rgb24> source, Random random)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(random);
        if (!options.Enabled)
            return ImageFitter.Fit(source, size, size, FitMode.CentreCrop);

        Image<Rgb24> result;
        if (options.RandomResizedCrop && options.Strength > 0)
        {
            var crop = RandomCrop(source.Width, source.Height, random);
            result = source.Clone(x => x.Crop(crop).Resize(size, size));
        }
        else
        {
            result = ImageFitter.Fit(source, size, size, FitMode.CentreCrop);
        }
        Finish(result, random);
        return result;
    }

    /// <summary>
    /// The products of <paramref name="products"/> (none: a background alone) pasted onto one random
    /// background, each from its own photo (<see cref="SceneArticle.FromPhoto"/>). Returns the scene and
    /// the labels of the products that made it in (one too small to keep a pixel is left out).
    /// </summary>
    public (Image<Rgb24> Image, IReadOnlyList<int> Labels) ComposeScene(IReadOnlyList<(Image<Rgb24> Photo, int Label)> products, Random random)
    {
        ArgumentNullException.ThrowIfNull(products);
        ArgumentNullException.ThrowIfNull(random);
        var articles = products.Select(p => SceneArticle.FromPhoto(p.Label.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Photo)).ToList();
        try
        {
            using var scene = composer.Compose(articles.Select(a => a.Article).ToList(), random);
            var labels = scene.Articles.Select(a => int.Parse(a.Category, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var image = scene.Image.Clone();
            Finish(image, random);
            return (image, labels);
        }
        finally
        {
            foreach (var article in articles) article.Dispose();
        }
    }

    private void Finish(Image<Rgb24> result, Random random)
    {
        var flip = options.HorizontalFlip && random.Next(2) == 1;
        var jitter = options.ColourJitter && options.JitterAmount > 0;
        if (!flip && !jitter) return;
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
