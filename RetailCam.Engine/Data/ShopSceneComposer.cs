using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Data;

/// <summary>
/// An article to paste: a grey image where the grey level is how much of the article covers the
/// pixel (Fashion-MNIST is white-on-black, so its grey value is a ready-made mask), pasted tinted; or,
/// with <paramref name="Colour"/>, a colour cut-out of the same size pasted as it is, the coverage
/// being its alpha. Not owned.
/// </summary>
public sealed record SceneArticle(string Category, Image<L8> Coverage, Image<Rgba32>? Colour = null)
{
    /// <summary>A colour cut-out whose alpha is its mask (clip art, a matted pack-shot); the caller disposes both images.</summary>
    public static SceneArticle FromCutout(string category, Image<Rgba32> cutout)
    {
        var coverage = new Image<L8>(cutout.Width, cutout.Height);
        cutout.ProcessPixelRows(coverage, (source, target) =>
        {
            for (var y = 0; y < source.Height; y++)
            {
                var from = source.GetRowSpan(y);
                var to = target.GetRowSpan(y);
                for (var x = 0; x < from.Length; x++) to[x] = new L8(from[x].A);
            }
        });
        return new SceneArticle(category, coverage, cutout);
    }

    /// <summary>
    /// A training photo as an article to paste, whatever it shows. A pack-shot is cut from its plain
    /// background (<see cref="BackgroundMatting"/>) and trimmed to the product; a grey-scale one
    /// becomes a coverage mask pasted tinted (its product could be any colour); a photo that is not a
    /// pack-shot is pasted whole, CutMix-style, its box its frame. Owns its images: dispose it.
    /// </summary>
    public static OwnedSceneArticle FromPhoto(string category, Image<Rgb24> photo)
    {
        using var matte = BackgroundMatting.Cut(photo);
        if (matte is null)
        {
            var whole = photo.CloneAs<Rgba32>();
            return new OwnedSceneArticle(FromCutout(category, whole));
        }
        var bounds = MaskBounds(matte.Alpha);
        var greyscale = BackgroundMatting.IsGreyscale(photo);
        if (greyscale)
        {
            var coverage = new Image<L8>(bounds.Width, bounds.Height);
            var reference = matte.Background.R;
            photo.ProcessPixelRows(matte.Alpha, coverage, (source, mask, target) =>
            {
                for (var y = 0; y < target.Height; y++)
                {
                    var from = source.GetRowSpan(y + bounds.Y).Slice(bounds.X, bounds.Width);
                    var alpha = mask.GetRowSpan(y + bounds.Y).Slice(bounds.X, bounds.Width);
                    var to = target.GetRowSpan(y);
                    for (var x = 0; x < to.Length; x++)
                        to[x] = new L8(alpha[x].PackedValue == 0 ? (byte)0 : (byte)Math.Max(1, Math.Abs(from[x].R - reference)));
                }
            });
            return new OwnedSceneArticle(new SceneArticle(category, coverage));
        }
        var cutout = new Image<Rgba32>(bounds.Width, bounds.Height);
        photo.ProcessPixelRows(matte.Alpha, cutout, (source, mask, target) =>
        {
            for (var y = 0; y < target.Height; y++)
            {
                var from = source.GetRowSpan(y + bounds.Y).Slice(bounds.X, bounds.Width);
                var alpha = mask.GetRowSpan(y + bounds.Y).Slice(bounds.X, bounds.Width);
                var to = target.GetRowSpan(y);
                for (var x = 0; x < to.Length; x++) to[x] = new Rgba32(from[x].R, from[x].G, from[x].B, alpha[x].PackedValue);
            }
        });
        return new OwnedSceneArticle(FromCutout(category, cutout));
    }

    private static Rectangle MaskBounds(Image<L8> mask)
    {
        int minX = mask.Width, minY = mask.Height, maxX = -1, maxY = -1;
        mask.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    if (row[x].PackedValue == 0) continue;
                    if (x < minX) minX = x;
                    if (x > maxX) maxX = x;
                    if (y < minY) minY = y;
                    if (y > maxY) maxY = y;
                }
            }
        });
        return maxX < 0 ? new Rectangle(0, 0, mask.Width, mask.Height) : Rectangle.FromLTRB(minX, minY, maxX + 1, maxY + 1);
    }
}

/// <summary>A <see cref="SceneArticle"/> that owns its images.</summary>
public sealed class OwnedSceneArticle(SceneArticle article) : IDisposable
{
    public SceneArticle Article { get; } = article;

    public void Dispose()
    {
        Article.Coverage.Dispose();
        Article.Colour?.Dispose();
    }
}

/// <summary>An article as pasted: its category, tight box, top-left corner and alpha mask.</summary>
public sealed record PlacedArticle(string Category, PixelBox Box, Point Location, Image<L8> Alpha);

public sealed class ComposedScene(Image<Rgb24> image, IReadOnlyList<PlacedArticle> articles) : IDisposable
{
    public Image<Rgb24> Image { get; } = image;
    public IReadOnlyList<PlacedArticle> Articles { get; } = articles;

    public void Dispose()
    {
        Image.Dispose();
        foreach (var article in Articles)
            article.Alpha.Dispose();
    }
}

public sealed class ShopSceneOptions
{
    [Range(8, 4096)]
    public int Size { get; set; } = 224;

    /// <summary>Smallest and largest longer side of a pasted article, in pixels.</summary>
    [Range(1, 4096)]
    public int MinArticleSize { get; set; } = 56;

    [Range(1, 4096)]
    public int MaxArticleSize { get; set; } = 160;

    [Range(1, 16)]
    public int MaxArticles { get; set; } = 3;

    /// <summary>Coverage below this (0–255) is treated as background, so boxes stay tight.</summary>
    [Range(0, 254)]
    public byte CoverageThreshold { get; set; } = 16;

    /// <summary>
    /// Scenes of <paramref name="side"/> px with articles from a quarter to five eighths of it: the range
    /// both demo scene sets span, used alike for training scenes and the scenes serving is tuned on.
    /// </summary>
    public static ShopSceneOptions ForSide(int side, int maxArticles = 3) => new()
    {
        Size = side,
        MinArticleSize = Math.Max(4, side / 4),
        MaxArticleSize = Math.Max(4, side * 5 / 8),
        MaxArticles = Math.Max(1, maxArticles),
    };
}

/// <summary>
/// Composes shop scenes: articles scaled, tinted and pasted onto varied backgrounds, each with a
/// tight ground-truth box taken from the pasted mask. Everything random comes from the
/// <see cref="Random"/> passed in, so a seed fixes the scene.
/// </summary>
public sealed class ShopSceneComposer
{
    private readonly ShopSceneOptions options;

    public ShopSceneComposer(ShopSceneOptions? options = null)
    {
        this.options = options ?? new ShopSceneOptions();
        Validator.ValidateObject(this.options, new ValidationContext(this.options), validateAllProperties: true);
        if (this.options.MinArticleSize > this.options.MaxArticleSize)
            throw new ValidationException("MinArticleSize must not exceed MaxArticleSize.");
    }

    public ShopSceneOptions Options => options;

    /// <summary>
    /// Pastes the articles in order onto <paramref name="background"/> (copied, not changed) or a
    /// random background. Articles whose mask is empty at the chosen size are left out.
    /// </summary>
    public ComposedScene Compose(IReadOnlyList<SceneArticle> articles, Random random, Image<Rgb24>? background = null)
    {
        ArgumentNullException.ThrowIfNull(articles);
        ArgumentNullException.ThrowIfNull(random);
        var size = options.Size;
        var scene = background is null ? SceneBackgrounds.Create(size, size, random) : background.Clone(x => x.Resize(size, size));
        var placed = new List<PlacedArticle>();
        try
        {
            foreach (var article in articles)
            {
                var item = Paste(scene, article, random, placed);
                if (item is not null)
                    placed.Add(item);
            }
        }
        catch
        {
            scene.Dispose();
            foreach (var p in placed) p.Alpha.Dispose();
            throw;
        }
        return new ComposedScene(scene, placed);
    }

    /// <summary>One article on a random background: the single-article training scene.</summary>
    public ComposedScene ComposeSingle(SceneArticle article, Random random) => Compose([article], random);

    private PlacedArticle? Paste(Image<Rgb24> scene, SceneArticle article, Random random, IReadOnlyList<PlacedArticle> already)
    {
        var source = article.Coverage;
        var longer = Math.Min(random.Next(options.MinArticleSize, options.MaxArticleSize + 1), options.Size);
        var aspect = (double)source.Width / source.Height * Math.Exp((random.NextDouble() - 0.5) * 0.3);
        var (width, height) = aspect >= 1 ? (longer, (int)Math.Round(longer / aspect)) : ((int)Math.Round(longer * aspect), longer);
        width = Math.Clamp(width, 1, options.Size);
        height = Math.Clamp(height, 1, options.Size);
        var tint = RandomTint(random);
        var shadeFloor = 0.25 + 0.25 * random.NextDouble();

        var alpha = source.Clone(x => x.Resize(width, height, KnownResamplers.Bicubic));
        Rgba32[]? colours = null;
        if (article.Colour is { } colour)
        {
            using var resized = colour.Clone(x => x.Resize(width, height, KnownResamplers.Bicubic));
            colours = new Rgba32[width * height];
            resized.CopyPixelDataTo(colours);
        }
        using var cutout = new Image<Rgba32>(width, height);
        int minX = width, minY = height, maxX = -1, maxY = -1;
        var threshold = options.CoverageThreshold;
        cutout.ProcessPixelRows(alpha, (target, mask) =>
        {
            for (var y = 0; y < target.Height; y++)
            {
                var row = target.GetRowSpan(y);
                var coverage = mask.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var g = coverage[x].PackedValue;
                    if (g <= threshold)
                    {
                        coverage[x] = default;
                        row[x] = default;
                        continue;
                    }
                    if (colours is not null)
                    {
                        // A colour cut-out keeps its own pixels and its own alpha.
                        var c = colours[y * row.Length + x];
                        row[x] = new Rgba32(c.R, c.G, c.B, g);
                    }
                    else
                    {
                        // Opaque over most of the article; the grey level also shades the tint so the
                        // article keeps its inner detail.
                        var a = (byte)Math.Min(255, g * 2);
                        coverage[x] = new L8(a);
                        var shade = shadeFloor + (1 - shadeFloor) * g / 255.0;
                        row[x] = new Rgba32((byte)(tint.R * shade), (byte)(tint.G * shade), (byte)(tint.B * shade), a);
                    }
                    if (x < minX) minX = x;
                    if (x > maxX) maxX = x;
                    if (y < minY) minY = y;
                    if (y > maxY) maxY = y;
                }
            }
        });
        if (maxX < 0)
        {
            alpha.Dispose();
            return null;
        }

        // Several candidate spots; keep the one overlapping least with what is already there.
        Point best = default;
        var bestOverlap = double.MaxValue;
        for (var attempt = 0; attempt < 25 && bestOverlap > 0.05; attempt++)
        {
            var candidate = new Point(random.Next(0, options.Size - width + 1), random.Next(0, options.Size - height + 1));
            var box = new PixelBox(candidate.X + minX, candidate.Y + minY, candidate.X + maxX + 1, candidate.Y + maxY + 1);
            var overlap = already.Count == 0 ? 0 : already.Max(p => p.Box.IoU(box));
            if (overlap < bestOverlap)
            {
                bestOverlap = overlap;
                best = candidate;
            }
        }
        scene.Mutate(x => x.DrawImage(cutout, best, 1f));
        return new PlacedArticle(article.Category, new PixelBox(best.X + minX, best.Y + minY, best.X + maxX + 1, best.Y + maxY + 1), best, alpha);
    }

    private static Rgb24 RandomTint(Random random)
    {
        // HSV with a floor on value so articles never vanish into black.
        var h = random.NextDouble() * 6;
        var s = 0.2 + 0.8 * random.NextDouble();
        var v = 0.55 + 0.45 * random.NextDouble();
        var c = v * s;
        var x = c * (1 - Math.Abs(h % 2 - 1));
        var (r, g, b) = (int)h switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        var m = v - c;
        return new Rgb24((byte)((r + m) * 255), (byte)((g + m) * 255), (byte)((b + m) * 255));
    }
}
