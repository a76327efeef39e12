using CsvHelper;

namespace RetailCam.Engine.Inference;

/// <summary>The columns of a bulk-categorisation CSV, shared by `retailcam catalogue` and the web Catalogue page.</summary>
public static class CatalogueCsv
{
    /// <summary>
    /// How to write one: a cell a spreadsheet would run as a formula (starting with = + - @, a tab or a CR,
    /// as a file or category named by a stranger may) is written with a leading apostrophe, as OWASP advises.
    /// </summary>
    public static CsvHelper.Configuration.CsvConfiguration Configuration => new(System.Globalization.CultureInfo.InvariantCulture)
    {
        InjectionOptions = CsvHelper.Configuration.InjectionOptions.Escape,
    };

    public static readonly string[] Columns =
        ["file", "category", "confidence", "path", "second_category", "second_confidence", "x_min", "y_min", "x_max", "y_max", "error"];

    public static void WriteHeader(CsvWriter csv)
    {
        foreach (var column in Columns) csv.WriteField(column);
        csv.NextRecord();
    }

    public static void WriteRow(CsvWriter csv, string file, FileOutcome outcome)
    {
        var p = outcome.Prediction;
        var box = p?.Boxes.FirstOrDefault(b => b.Category == p.Top[0].Category);
        csv.WriteField(file);
        csv.WriteField(p?.Top[0].Category ?? "");
        csv.WriteField(p is null ? "" : p.Top[0].Probability.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
        csv.WriteField(p is null ? "" : string.Join(" › ", p.Path.Select(l => $"{l.Name} {l.Probability.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}")));
        csv.WriteField(p is { Top.Count: > 1 } ? p.Top[1].Category : "");
        csv.WriteField(p is { Top.Count: > 1 } ? p.Top[1].Probability.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) : "");
        csv.WriteField(box?.XMin.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
        csv.WriteField(box?.YMin.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
        csv.WriteField(box?.XMax.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
        csv.WriteField(box?.YMax.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
        csv.WriteField(outcome.Error ?? "");
        csv.NextRecord();
    }

    /// <summary>
    /// The photos a catalogue CSV already holds rows for, and how many of its bytes are whole lines: a
    /// run killed mid-row leaves a cut last line, which a resumed run cuts away and writes again.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a catalogue CSV (another header).</exception>
    public static (HashSet<string> Files, long WholeLength) ReadExisting(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var whole = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        var files = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StringReader(System.Text.Encoding.UTF8.GetString(bytes, 0, whole));
        using var csv = new CsvReader(reader, Configuration);
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { } header || !header.SequenceEqual(Columns))
            throw new InvalidDataException($"{path} is not a catalogue CSV (its first line is not \"{string.Join(',', Columns)}\").");
        while (csv.Read())
            if (csv.GetField(0) is { Length: > 0 } file) files.Add(Unescaped(file));
        return (files, whole);
    }

    // The writer puts an apostrophe before a cell a spreadsheet would run as a formula: the name is what follows it.
    private static string Unescaped(string cell) =>
        cell.Length > 1 && cell[0] == '\'' && cell[1] is '=' or '+' or '-' or '@' or '\t' or '\r' ? cell[1..] : cell;
}
