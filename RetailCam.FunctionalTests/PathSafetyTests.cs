using System.Net;

namespace RetailCam.FunctionalTests;

/// <summary>Ids in addresses that try to climb out of the data folder: refused, and nothing is written anywhere.</summary>
[Collection(WebCollection.Name)]
public class PathSafetyTests(WebAppFixture app)
{
    [Theory]
    [InlineData("/runs/{0}")]
    [InlineData("/api/runs/{0}/events")]
    [InlineData("/api/runs/{0}/snapshots/step-000001-probe-0-true.png")]
    [InlineData("/api/runs/{0}/probes/0.png")]
    public async Task A_run_id_that_climbs_out_of_the_data_folder_creates_nothing_outside_it(string template)
    {
        var outside = Directory.CreateTempSubdirectory("retailcam-outside-").FullName;
        try
        {
            var climb = string.Concat(Enumerable.Repeat("..%2F", 12)) + Uri.EscapeDataString(outside.TrimStart('/'));
            using var client = app.CreateClient();
            using var response = await client.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, climb));

            // The run page answers 404 with the not-found page; the API with a problem document.
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{response.StatusCode}");
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
            Assert.False(Directory.Exists(Path.Combine(app.DataRoot, "snapshots")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }
}
