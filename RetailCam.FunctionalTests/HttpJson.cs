using System.Text.Json;

namespace RetailCam.FunctionalTests;

/// <summary>The JSON body of a response, detached from its document so it can outlive it.</summary>
internal static class HttpJson
{
    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
