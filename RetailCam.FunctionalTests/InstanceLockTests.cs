using System.Diagnostics;

namespace RetailCam.FunctionalTests;

/// <summary>A second app started on a data root that one already serves exits at once with a clear message.</summary>
[Collection(WebCollection.Name)]
public class InstanceLockTests(WebAppFixture app)
{
    [Fact]
    public async Task A_second_start_on_the_same_data_root_exits_with_a_clear_message()
    {
        var dll = AppProcess.WebAppDll();
        Assert.True(File.Exists(dll), $"{dll} is missing: build RetailCam.Web");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment["RetailCam__DataRoot"] = app.DataRoot;
        start.Environment["RetailCam__QuickStart__Enabled"] = "false";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        using var second = Process.Start(start)!;
        var stderr = second.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await second.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            second.Kill(entireProcessTree: true);
            throw;
        }
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("already running on the data folder", await stderr);
    }
}
