using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration.Attributes;
using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Data;

/// <summary>
/// One row of a labelled box set's boxes.csv: pixels of that image, x_max/y_max exclusive
/// (the box covers columns x_min … x_max − 1), category = a category path.
/// </summary>
public sealed record BoxRow(
    [Name("file")][property: Name("file")] string File,
    [Name("category")][property: Name("category")] string Category,
    [Name("x_min")][property: Name("x_min")] int XMin,
    [Name("y_min")][property: Name("y_min")] int YMin,
    [Name("x_max")][property: Name("x_max")] int XMax,
    [Name("y_max")][property: Name("y_max")] int YMax)
{
    [Ignore]
    public PixelBox Box => new(XMin, YMin, XMax, YMax);
}

/// <summary>Reads and writes boxes.csv (header <c>file,category,x_min,y_min,x_max,y_max</c>).</summary>
public static class BoxesCsv
{
    public const string FileName = "boxes.csv";

    public static void Write(string path, IEnumerable<BoxRow> rows)
    {
        var partial = path + ".part";
        using (var writer = new StreamWriter(partial))
        using (var csv = new CsvWriter(writer, CultureInfo.InvariantCulture))
            csv.WriteRecords(rows);
        File.Move(partial, path, overwrite: true);
    }

    public static IReadOnlyList<BoxRow> Read(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        return csv.GetRecords<BoxRow>().ToArray();
    }
}
