using System.Net;
using RetailCam.Cli.Commands;
using RetailCam.Cli.Load;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Cli;

/// <summary>`retailcam load`: what it refuses before sending anything, and the figures it computes from what it saw.</summary>
public class LoadCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private static Task<(int Exit, string Stdout, string Stderr)> LoadAsync(params string[] args) =>
        ConsoleCapture.RunAsync(() => RetailCam.Cli.CliProgram.InvokeAsync(["load", .. args, "--token", "unused", "--json"]), Timeout);

    [Theory]
    [InlineData("http://10.1.2.3:5080")]
    [InlineData("http://192.168.0.20/")]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://[2001:db8::1]:5080")]
    [InlineData("http://[::ffff:10.0.0.1]:5080")]
    public async Task An_address_that_is_not_this_machine_is_refused_with_exit_code_2_before_anything_is_sent(string url)
    {
        var (exit, stdout, stderr) = await LoadAsync("--url", url, "--seconds", "1");

        Assert.Equal(2, exit);
        Assert.Equal("", stdout.Trim());
        var error = Assert.Single(ToolProcess.Errors(stderr));
        Assert.Contains("loopback", error);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/")]
    [InlineData("not a url")]
    public async Task An_address_that_is_not_http_is_refused_with_exit_code_2(string url)
    {
        var (exit, _, stderr) = await LoadAsync("--url", url);

        Assert.Equal(2, exit);
        Assert.Contains("--url", Assert.Single(ToolProcess.Errors(stderr)));
    }

    [Theory]
    [InlineData("--clients", "0")]
    [InlineData("--clients", "65")]
    [InlineData("--seconds", "0")]
    [InlineData("--seconds", "601")]
    [InlineData("--per-request", "0")]
    [InlineData("--per-request", "51")]
    [InlineData("--max-requests", "0")]
    [InlineData("--timeout", "0")]
    public async Task A_count_outside_its_bounds_is_refused_with_exit_code_2_naming_the_option(string option, string value)
    {
        var (exit, stdout, stderr) = await LoadAsync("--url", "http://127.0.0.1:9", option, value);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout.Trim());
        var error = Assert.Single(ToolProcess.Errors(stderr));
        Assert.Contains(option, error);
        Assert.Contains(value, error);
    }

    [Theory]
    [InlineData("http://localhost:5080")]
    [InlineData("http://127.0.0.1:5080/")]
    [InlineData("http://127.0.0.2:5080")]
    [InlineData("http://[::1]:5080")]
    [InlineData("https://localhost:5443/under/a/path")]
    public async Task Addresses_of_this_machine_are_accepted_with_their_bounds(string url)
    {
        var settings = await LoadSettings.CheckAsync(url, clients: 64, seconds: 600, photosPerRequest: 50, maxRequests: 1_000_000, timeoutSeconds: 30);

        Assert.EndsWith("/", settings.Server.AbsoluteUri);
        Assert.Equal(64, settings.Clients);
        Assert.Equal(TimeSpan.FromMinutes(10), settings.Duration);
    }

    [Fact]
    public void An_ipv4_loopback_address_written_as_ipv6_counts_as_loopback()
    {
        Assert.True(LoopbackOnly.IsLoopback(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(LoopbackOnly.IsLoopback(IPAddress.Parse("::ffff:10.0.0.1")));
    }

    [Fact]
    public async Task The_settings_check_refuses_a_foreign_address_naming_it()
    {
        var exception = await Assert.ThrowsAsync<UsageException>(() => LoadSettings.CheckAsync("http://10.0.0.1", 1, 1, 1, 1, 1));
        Assert.Contains("10.0.0.1", exception.Message);
    }

    [Fact]
    public void Percentiles_are_the_nearest_rank_samples()
    {
        // 1 … 100 in a scrambled order: the p-th percentile by nearest rank is p itself.
        var samples = Enumerable.Range(1, 100).Select(i => (double)(i * 37 % 101)).ToList();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (double)i), samples.Order());

        var summary = LatencySummary.Of(samples)!;

        Assert.Equal(new LatencySummary(50, 95, 99, 100), summary);
    }

    [Fact]
    public void A_percentile_is_an_observed_sample_at_rank_ceiling_of_p_n_over_100()
    {
        // 20 samples: p50 is rank 10, p95 rank 19 (not 20), p99 rank 20.
        double[] twenty = [.. Enumerable.Range(1, 20).Select(i => i * 10.0)];
        Assert.Equal(new LatencySummary(100, 190, 200, 200), LatencySummary.Of(twenty));
        // 3 samples: p50 is rank 2 (no averaging of neighbours), p95 and p99 rank 3.
        Assert.Equal(new LatencySummary(20, 30, 30, 30), LatencySummary.Of([30.0, 10.0, 20.0]));
        Assert.Equal(new LatencySummary(7.25, 7.25, 7.25, 7.25), LatencySummary.Of([7.25]));
        Assert.Null(LatencySummary.Of([]));
    }

    [Fact]
    public void The_training_figures_take_the_steps_that_ended_during_the_load_and_the_rate_just_before_as_baseline()
    {
        TrainingPace.StepProgress[] progress = [new(9, 80), new(10, 100), new(11, 60), new(12, 40), new(13, 50), new(14, 90)];

        var during = TrainingPace.Summarise("run-a", progress, startStep: 10, endStep: 13, statusAfter: "Running");

        Assert.Equal(new TrainingDuringLoad("run-a", 3, 50, 100, "running"), during);
    }

    [Fact]
    public void A_run_that_made_no_step_during_the_load_trained_at_zero_images_per_second_and_says_how_it_ended()
    {
        Assert.Equal(new TrainingDuringLoad("run-a", 0, 0, 100, "completed"),
            TrainingPace.Summarise("run-a", [new(10, 100)], startStep: 10, endStep: 10, statusAfter: "Completed"));
    }

    [Fact]
    public void The_run_followed_is_the_one_training_unless_one_is_named()
    {
        using var client = new HttpClient();
        TrainingPace.RunListing[] runs = [new("queued", "Pending", true, 0), new("now", "Running", true, 42), new("old", "Completed", false, 900)];

        var chosen = TrainingPace.Choose(runs, client, runId: null, out var note);
        Assert.Equal("now", chosen?.RunId);
        Assert.Equal(42, chosen?.LastStep);
        Assert.Null(note);

        Assert.Null(TrainingPace.Choose(runs, client, runId: "old", out note));
        Assert.Contains("not training", note);
        Assert.Null(TrainingPace.Choose([runs[0], runs[2]], client, runId: null, out note));
        Assert.Throws<UsageException>(() => TrainingPace.Choose(runs, client, runId: "missing", out _));
    }
}
