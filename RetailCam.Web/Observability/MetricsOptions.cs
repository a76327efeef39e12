using System.ComponentModel.DataAnnotations;

namespace RetailCam.Web.Observability;

/// <summary>Section RetailCam:Metrics — who besides the team's trainers and admins may read /metrics.</summary>
public sealed class MetricsOptions : IValidatableObject
{
    public const string SectionName = "RetailCam:Metrics";

    /// <summary>Long enough that guessing it is no way in: 32 hex digits of a random generator are 128 bits.</summary>
    public const int MinimumScrapeTokenLength = 32;

    /// <summary>
    /// A secret a Prometheus server sends as <c>Authorization: Bearer TOKEN</c> to scrape /metrics without
    /// an account (e.g. <c>openssl rand -hex 32</c>); empty: only signed-in trainers and admins may read it.
    /// </summary>
    public string ScrapeToken { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ScrapeToken.Length is > 0 and < MinimumScrapeTokenLength)
            yield return new ValidationResult($"{SectionName}:{nameof(ScrapeToken)} has {ScrapeToken.Length} characters: use at least {MinimumScrapeTokenLength}, or none.", [nameof(ScrapeToken)]);
        if (ScrapeToken.Any(char.IsWhiteSpace))
            yield return new ValidationResult($"{SectionName}:{nameof(ScrapeToken)} holds white space, which an Authorization header cannot carry intact.", [nameof(ScrapeToken)]);
    }
}
