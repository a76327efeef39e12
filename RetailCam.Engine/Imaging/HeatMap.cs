namespace RetailCam.Engine.Imaging;

/// <summary>
/// A class map or any other per-pixel score in [0,1], row-major [Height, Width]. Independent of
/// torch so overlays can be rendered and tested without it.
/// </summary>
public sealed class HeatMap
{
    private readonly float[] values;

    public int Width { get; }
    public int Height { get; }
    public ReadOnlySpan<float> Values => values;

    /// <summary>Copies the values; each must lie in [0,1] (normalise class maps first).</summary>
    public HeatMap(ReadOnlySpan<float> values, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (values.Length != (long)width * height)
            throw new ArgumentException($"Expected {width} × {height} = {(long)width * height} values, got {values.Length}.", nameof(values));
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (!(v >= 0f && v <= 1f))
                throw new ArgumentOutOfRangeException(nameof(values), v, $"Heat-map values must lie in [0,1]; value {i} (row {i / width}, column {i % width}) is {v}.");
        }
        this.values = values.ToArray();
        Width = width;
        Height = height;
    }

    public HeatMap(float[,] values) : this(Flatten(values), values.GetLength(1), values.GetLength(0)) { }

    public float this[int row, int column] => values[row * Width + column];

    private static float[] Flatten(float[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var flat = new float[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(float));
        return flat;
    }
}
