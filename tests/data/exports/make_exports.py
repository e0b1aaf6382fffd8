"""Write the real-world-shaped export fixtures of tests/test_exports.py (run once; outputs committed).

Each file imitates a shape survey tools, spreadsheets and colleagues really produce. The
old binary .xls needs xlwt (pip install xlwt), which only this script uses.
"""

import csv
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ITEMS = ["P1", "P2", "P3", "S1", "S2", "S3"]
rng = np.random.default_rng(13)


def ratings(n):
    e = np.clip(np.rint(rng.normal(6, 0.8, size=(n, 6))), 1, 7).astype(int)
    p = np.clip(np.rint(e - rng.normal(1, 1, size=(n, 6))), 1, 7).astype(int)
    return e, p


def wide_rows(n, segments):
    e, p = ratings(n)
    header = ["respondent_id", "segment"] + [f"E_{i}" for i in ITEMS] + [f"P_{i}" for i in ITEMS]
    rows = [[f"R{k + 1:03d}", segments[k % len(segments)], *e[k], *p[k]] for k in range(n)]
    return header, rows


def write_csv(name, header, rows, *, newline="\n", encoding="utf-8", sep=","):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    (HERE / name).write_bytes(buffer.getvalue().encode(encoding))


def main():
    header, rows = wide_rows(40, ["undergraduate", "postgraduate"])
    write_csv("mac-classic-cr.csv", header, rows, newline="\r")
    # every data row ends in a delimiter the header lacks
    text = ",".join(header) + "\n" + "".join(",".join(map(str, r)) + ",\n" for r in rows)
    (HERE / "trailing-delimiter.csv").write_text(text)
    # Excel's "sep=;" first line and semicolons
    buffer = io.StringIO()
    buffer.write("sep=;\n")
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
    (HERE / "excel-sep-hint.csv").write_text(buffer.getvalue())
    # ratings written as labels by a survey tool
    labels = {1: "Strongly disagree", 2: "Disagree", 3: "Somewhat disagree", 4: "Neutral", 5: "Somewhat agree",
              6: "Agree", 7: "Strongly agree"}
    labelled = [[r[0], r[1], *[labels[v] for v in r[2:8]], *[f"{v} - {labels[v].lower()}" for v in r[8:]]]
                for r in rows]
    write_csv("ratings-as-labels.csv", header, labelled)
    # long format: one row per respondent x question
    long_rows = [[r[0], r[1], q, v] for r in rows for q, v in zip(header[2:], r[2:])]
    write_csv("long-format.csv", ["ResponseId", "segment", "Question", "Answer"], long_rows)
    # an .xlsx saved under a .csv name, and an HTML table saved as .xls
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Readme"
    sheet.append(["Responses are on the next sheet"])
    data = book.create_sheet("Responses")
    data.append(header)
    for r in rows:
        data.append(r)
    book.save(HERE / "workbook-named-csv.csv")
    (HERE / "web-page.xls").write_text("<html><body><table><tr><td>respondent_id</td></tr></table></body></html>")
    # a title row above a two-row header with merged cells
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Library client survey 2024 - export"])
    sheet.append(["respondent_id", "segment", "Expectation", None, None, None, None, None,
                  "Perception", None, None, None, None, None])
    sheet.append([None, None, *ITEMS, *ITEMS])
    sheet.merge_cells("C2:H2")
    sheet.merge_cells("I2:N2")
    for r in rows:
        sheet.append(r)
    book.save(HERE / "title-and-two-row-header.xlsx")
    # an old binary .xls with text in a legacy code page
    import xlwt

    book = xlwt.Workbook(encoding="cp1252")
    sheet = book.add_sheet("Sheet1")
    for j, name in enumerate(header):
        sheet.write(0, j, name)
    for k, r in enumerate(rows, start=1):
        for j, value in enumerate(r):
            value = value.item() if hasattr(value, "item") else value
            sheet.write(k, j, "étudiant" if j == 1 and value == "undergraduate" else value)
    book.save(str(HERE / "legacy-binary.xls"))
    # a published-study-shaped file: Korean question texts as headers, cp949, age groups
    # with one large group and four tiny ones
    korean_texts = ["조용한 학습 공간이 있다", "도서관 건물이 쾌적하다", "컴퓨터와 프린터가 잘 작동한다",
                    "직원이 질문에 신속히 답한다", "직원이 잘 알고 있다", "직원이 친절하다"]
    n = 120
    e, p = ratings(n)
    ages = ["20대"] * 104 + ["10대"] * 4 + ["30대"] * 4 + ["40대"] * 4 + ["50대 이상"] * 4
    sexes = ["남", "여"] * (n // 2)
    head = ["번호", "연령대", "성별"] + [f"기대{k}. {t}" for k, t in enumerate(korean_texts, 1)] + \
           [f"인식{k}. {t}" for k, t in enumerate(korean_texts, 1)]
    body = [[k + 1, ages[k], sexes[k], *e[k], *p[k]] for k in range(n)]
    write_csv("korean-cp949.csv", head, body, encoding="cp949", newline="\r\n")


if __name__ == "__main__":
    main()
