using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using RetailCam.Engine.Telemetry;

namespace RetailCam.FunctionalTests;

/// <summary>A prediction request's trace: ASP.NET Core's request span, with the engine's spans of its decode, forward pass and class maps inside.</summary>
[Collection(WebCollection.Name)]
public class PredictionTracingTests(WebAppFixture app)
{
    [Fact]
    public async Task A_prediction_request_traces_its_decode_forward_pass_and_class_maps_under_the_request()
    {
        var started = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or EngineTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = started.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        // The caller's trace, as a client that traces would send it: the server's spans join it.
        var trace = ActivityTraceId.CreateRandom();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/predict")
        {
            Content = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(TestPhotos.Good("traced.png", 53))), "images", "traced.png" } },
        };
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = started.Where(s => s.TraceId == trace).ToList();
        Activity Span(string name) => Assert.Single(spans, s => s.OperationName == name);
        var http = Assert.Single(spans, s => s.Source.Name == "Microsoft.AspNetCore");
        var predict = Span("retailcam.predict");
        Assert.Equal(http.SpanId, Span("retailcam.decode").ParentSpanId);
        Assert.Equal(http.SpanId, predict.ParentSpanId);
        Assert.Equal(predict.SpanId, Span("retailcam.forward").ParentSpanId);
        Assert.Equal(predict.SpanId, Span("retailcam.class_maps").ParentSpanId);
        Assert.Equal("model:tiny", predict.GetTagItem("retailcam.model"));
    }
}
