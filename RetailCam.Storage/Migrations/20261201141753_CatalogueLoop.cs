using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RetailCam.Storage.Migrations
{
    /// <inheritdoc />
    public partial class CatalogueLoop : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "DatasetId",
                table: "Runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "DatasetVersion",
                table: "Runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Datasets",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Folder = table.Column<string>(type: "TEXT", nullable: false),
                    Registered = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Datasets", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ReviewItems",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    ContentHash = table.Column<string>(type: "TEXT", nullable: false),
                    FileName = table.Column<string>(type: "TEXT", nullable: false),
                    ModelId = table.Column<string>(type: "TEXT", nullable: false),
                    FiledUnder = table.Column<string>(type: "TEXT", nullable: true),
                    TopCategory = table.Column<string>(type: "TEXT", nullable: false),
                    TopProbability = table.Column<double>(type: "REAL", nullable: false),
                    TopJson = table.Column<string>(type: "TEXT", nullable: false),
                    NotInCatalogue = table.Column<bool>(type: "INTEGER", nullable: false),
                    Source = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    CreatedUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Resolution = table.Column<string>(type: "TEXT", nullable: true),
                    ResolvedUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    ResolvedBy = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReviewItems", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ReviewItems_Uploads_ContentHash",
                        column: x => x.ContentHash,
                        principalTable: "Uploads",
                        principalColumn: "ContentHash",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "FiledPhotos",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    ContentHash = table.Column<string>(type: "TEXT", nullable: false),
                    DatasetId = table.Column<string>(type: "TEXT", nullable: false),
                    Category = table.Column<string>(type: "TEXT", nullable: false),
                    FileName = table.Column<string>(type: "TEXT", nullable: false),
                    FiledBy = table.Column<string>(type: "TEXT", nullable: true),
                    Source = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    AtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_FiledPhotos", x => x.Id);
                    table.ForeignKey(
                        name: "FK_FiledPhotos_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_FiledPhotos_Uploads_ContentHash",
                        column: x => x.ContentHash,
                        principalTable: "Uploads",
                        principalColumn: "ContentHash",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Datasets_Folder",
                table: "Datasets",
                column: "Folder",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_FiledPhotos_AtUtc",
                table: "FiledPhotos",
                column: "AtUtc");

            migrationBuilder.CreateIndex(
                name: "IX_FiledPhotos_ContentHash",
                table: "FiledPhotos",
                column: "ContentHash");

            migrationBuilder.CreateIndex(
                name: "IX_FiledPhotos_DatasetId",
                table: "FiledPhotos",
                column: "DatasetId");

            migrationBuilder.CreateIndex(
                name: "IX_ReviewItems_ContentHash",
                table: "ReviewItems",
                column: "ContentHash");

            migrationBuilder.CreateIndex(
                name: "IX_ReviewItems_Resolution_CreatedUtc",
                table: "ReviewItems",
                columns: new[] { "Resolution", "CreatedUtc" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "FiledPhotos");

            migrationBuilder.DropTable(
                name: "ReviewItems");

            migrationBuilder.DropTable(
                name: "Datasets");

            migrationBuilder.DropColumn(
                name: "DatasetId",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "DatasetVersion",
                table: "Runs");
        }
    }
}
