namespace RetailCam.Engine.Imaging;

/// <summary>A box in pixels of its image: [XMin, XMax) × [YMin, YMax) (max edges exclusive, as in boxes.csv).</summary>
public readonly record struct PixelBox(int XMin, int YMin, int XMax, int YMax)
{
    public int Width => XMax - XMin;
    public int Height => YMax - YMin;
    public long Area => (long)Math.Max(0, Width) * Math.Max(0, Height);

    public double IoU(PixelBox other)
    {
        var ix = Math.Min(XMax, other.XMax) - Math.Max(XMin, other.XMin);
        var iy = Math.Min(YMax, other.YMax) - Math.Max(YMin, other.YMin);
        if (ix <= 0 || iy <= 0) return 0;
        var intersection = (double)ix * iy;
        return intersection / (Area + other.Area - intersection);
    }

    public bool Contains(int x, int y) => x >= XMin && x < XMax && y >= YMin && y < YMax;

    /// <summary>Scales a box found on a map of one size to an image of another.</summary>
    public PixelBox Scale(double sx, double sy) => new(
        (int)Math.Floor(XMin * sx), (int)Math.Floor(YMin * sy), (int)Math.Ceiling(XMax * sx), (int)Math.Ceiling(YMax * sy));
}
