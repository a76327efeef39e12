using RetailCam.Engine.Imaging;
using RetailCam.Engine.Training;
using static TorchSharp.torch;

namespace RetailCam.Tests.Support;

/// <summary>
/// Coloured shapes (one class per shape and colour) at random positions on noise: a task a tiny CNN
/// learns in seconds, with exact boxes to score class maps against.
/// </summary>
public sealed class SyntheticShapes
{
    public const int Classes = 3;
    public static readonly string[] Categories = ["Shapes/Red square", "Shapes/Green disc", "Shapes/Blue bar"];

    public SyntheticShapes(int count, int size, int seed)
    {
        Size = size;
        var random = new Random(seed);
        for (var n = 0; n < count; n++)
        {
            var label = n % Classes;
            var pixels = new float[3 * size * size];
            for (var i = 0; i < pixels.Length; i++) pixels[i] = random.Next(40, 160);
            var extent = random.Next(size / 5, size / 3);
            var x0 = random.Next(0, size - extent);
            var y0 = random.Next(0, size - extent);
            int xMin = int.MaxValue, yMin = int.MaxValue, xMax = -1, yMax = -1;
            for (var y = y0; y < y0 + extent; y++)
            for (var x = x0; x < x0 + extent; x++)
            {
                var inside = label switch
                {
                    0 => true,
                    1 => Math.Pow(x - x0 - extent / 2.0 + 0.5, 2) + Math.Pow(y - y0 - extent / 2.0 + 0.5, 2) <= extent * extent / 4.0,
                    _ => y - y0 >= extent / 3 && y - y0 < 2 * extent / 3,
                };
                if (!inside) continue;
                pixels[label * size * size + y * size + x] = 250;
                pixels[((label + 1) % 3) * size * size + y * size + x] = 10;
                pixels[((label + 2) % 3) * size * size + y * size + x] = 10;
                xMin = Math.Min(xMin, x); yMin = Math.Min(yMin, y); xMax = Math.Max(xMax, x); yMax = Math.Max(yMax, y);
            }
            Images.Add(pixels);
            Labels.Add(label);
            Boxes.Add(new PixelBox(xMin, yMin, xMax + 1, yMax + 1));
        }
    }

    public int Size { get; }
    public List<float[]> Images { get; } = [];
    public List<int> Labels { get; } = [];
    public List<PixelBox> Boxes { get; } = [];

    public Tensor Batch(IEnumerable<int> indices)
    {
        var list = indices.ToList();
        var data = new float[list.Count * 3 * Size * Size];
        for (var i = 0; i < list.Count; i++) Images[list[i]].CopyTo(data, i * 3 * Size * Size);
        return tensor(data, [list.Count, 3, Size, Size]);
    }

    /// <summary>The set as a dataset on disk: one folder per category path, one PNG per image.</summary>
    public void WritePngTree(string root, string prefix = "")
    {
        for (var n = 0; n < Images.Count; n++)
        {
            var folder = Path.Combine(root, Categories[Labels[n]]);
            Directory.CreateDirectory(folder);
            var pixels = Images[n];
            var plane = Size * Size;
            using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(Size, Size);
            for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
                image[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgb24((byte)pixels[y * Size + x], (byte)pixels[plane + y * Size + x], (byte)pixels[2 * plane + y * Size + x]);
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(folder, $"{prefix}{n:D3}.png"));
        }
    }

    /// <summary>In-memory batches, shuffled per epoch by seed: the same contract as the disk loader.</summary>
    public IEpochBatches AsBatches(int batchSize, bool shuffle, int seed = 5) => new InMemoryBatches(this, batchSize, shuffle, seed);

    private sealed class InMemoryBatches(SyntheticShapes set, int batchSize, bool shuffle, int seed) : IEpochBatches
    {
        public int BatchesPerEpoch => (set.Images.Count + batchSize - 1) / batchSize;

        public IEnumerable<LabelledBatch> Epoch(int epoch, int skipBatches, CancellationToken cancellationToken)
        {
            var order = Enumerable.Range(0, set.Images.Count).ToArray();
            if (shuffle) new Random(seed * 7919 + epoch).Shuffle(order);
            for (var b = skipBatches; b < BatchesPerEpoch; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var indices = order.Skip(b * batchSize).Take(batchSize).ToList();
                yield return new LabelledBatch(set.Batch(indices), tensor(indices.Select(i => (long)set.Labels[i]).ToArray()));
            }
        }
    }
}
