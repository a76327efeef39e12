using CsvHelper;
using RetailCam.Engine.Inference;

namespace RetailCam.Tests.Inference;

public class CatalogueCsvTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.example\")")]
    [InlineData("+1+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1:A9)")]
    [InlineData("\tleading tab")]
    [InlineData("\rleading return")]
    public void A_cell_a_spreadsheet_would_run_is_written_as_text(string file)
    {
        using var writer = new StringWriter();
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
        {
            CatalogueCsv.WriteHeader(csv);
            CatalogueCsv.WriteRow(csv, file, new FileOutcome(file, null, "not an image", null));
        }
        using var reader = new CsvReader(new StringReader(writer.ToString()), System.Globalization.CultureInfo.InvariantCulture);
        reader.Read();
        reader.ReadHeader();
        reader.Read();
        Assert.Equal("'" + file, reader.GetField("file"));
        Assert.Equal("not an image", reader.GetField("error"));
    }

    [Fact]
    public void An_ordinary_name_is_written_as_it_is()
    {
        using var writer = new StringWriter();
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
            CatalogueCsv.WriteRow(csv, "shirts/blue-01.jpg", new FileOutcome("shirts/blue-01.jpg", null, "truncated", null));
        Assert.StartsWith("shirts/blue-01.jpg,", writer.ToString());
    }
}
