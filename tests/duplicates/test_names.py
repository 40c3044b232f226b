"""Comparing names: normal forms, blocking keys and scores on the story's real names."""

from __future__ import annotations

import pytest

from crm.duplicates.names import THRESHOLD, compare, han_core, keys_of, latin_tokens, profile_of


def score(a, b, person=False):
    names_a = a if isinstance(a, list) else [a]
    names_b = b if isinstance(b, list) else [b]
    match = compare(
        profile_of(names_a, person=person), profile_of(names_b, person=person), person=person
    )
    return match.score if match else 0


@pytest.mark.parametrize(
    "raw",
    [
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        "SINO-BRITISH EKOO NETWORK TECHNOLOGY LIMITED",
        "Sino British Ekoo Network Technology Company",
        "ｓｉｎｏ－ｂｒｉｔｉｓｈ　ｅｋｏｏ　ｎｅｔｗｏｒｋ　ｔｅｃｈｎｏｌｏｇｙ　ＬＴＤ",
        "Network Technology Sino British Ekoo GmbH",
    ],
)
def test_case_width_punctuation_legal_forms_and_word_order_fall_away(raw):
    assert score(raw, "sino british ekoo network technology") == 100


def test_legal_forms_only_where_they_are_legal_forms():
    assert latin_tokens("Coca Co Ltd") == ["coca"]
    assert latin_tokens("Group Inc") == ["group"]  # never down to nothing
    assert latin_tokens("Oxford International Education Group") == [
        "oxford",
        "international",
        "education",
    ]
    assert latin_tokens("Dr Liu Xian", person=True) == ["liu", "xian"]
    assert han_core("中英艺库网络科技股份有限公司") == "中英艺库网络科技"
    assert han_core("牛津国际教育集团") == "牛津国际教育"


def test_bracketed_places_fall_away_and_acronyms_become_names():
    ekoo = profile_of(["中英艺库（深圳）网络科技有限公司"])
    assert [f.text for f in ekoo.forms if f.script == "han"] == ["中英艺库网络科技"]
    assert ekoo.places == {"shenzhen"}
    assert score("British International Innovation Center (UKIIC)", "UKIIC") == 100
    assert score("英国国际创新中心(UKIIC Accelerator)", "UKIIC") == 95
    # A bracket that is neither a place nor an acronym stays part of the name.
    assert score("Oxford Instruments (Healthcare)", "Oxford Instruments (Industrial)") < THRESHOLD


def test_pinyin_of_chinese_names_meets_latin_names():
    assert score("刘贤", "Liu Xian", person=True) == 90  # a name alone: never certain
    assert score("刘贤", "Xian Liu", person=True) == 90
    assert score("刘贤", "柳仙", person=True) == 85  # same sounds, other characters
    assert "j:liuxian" in keys_of(profile_of(["刘贤"], person=True))
    assert "j:liuxian" in keys_of(profile_of(["Xian Liu"], person=True))


def test_the_article_s_two_translations_are_likely_duplicates():
    first = [
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        "中英艺库（深圳）网络科技有限公司",
    ]
    second = ["Sino-British arts library network technology (shenzhen) co., LTD."]
    match = compare(profile_of(first), profile_of(second))
    assert match.score >= THRESHOLD and match.place == "shenzhen"
    assert keys_of(profile_of(first)) & keys_of(profile_of(second)) >= {"w:sino", "w:british"}


def test_the_accelerator_named_three_ways():
    names = ["UKIIC", "UKIIC Accelerator", "British international innovation center (UKIIC)"]
    for a in names:
        for b in names:
            assert score(a, b) >= 95, (a, b)


@pytest.mark.parametrize(
    "a, b",
    [
        # A unit of a body is not the body.
        (
            "CPC Taizhou Municipal Committee",
            "Organization Department of the CPC Taizhou Municipal Committee",
        ),
        ("中共台州市委", "中共台州市委组织部"),
        ("Taizhou Bay New Area", "Taizhou Bay New Area Hospital"),
        # Siblings and neighbours.
        (
            "Taizhou Municipal Science and Technology Bureau",
            "Taizhou Municipal Human Resources and Social Security Bureau",
        ),
        ("台州市科学技术局", "台州市人力资源和社会保障局"),
        ("Taizhou Municipal People's Government", "Taizhou Municipal Permanent Office"),
        ("Ningbo Robotics Technology Co., Ltd", "Ningbo Photonics Technology Co., Ltd"),
        ("Taizhou Biomedicine Technology Co., Ltd", "Taizhou Biomedicine Research Institute"),
        # Different numbers, different records.
        (
            "Taizhou Smart Manufacturing Technology Co., Ltd 12",
            "Taizhou Smart Manufacturing Technology Co., Ltd 57",
        ),
    ],
)
def test_different_bodies_stay_apart(a, b):
    assert score(a, b) < THRESHOLD


def test_same_email_and_different_emails_for_people():
    same = compare(
        profile_of(["Liu Xian"], emails=["liu@ukiic.example"], person=True),
        profile_of(["L. Xian"], emails=["LIU@ukiic.example"], person=True),
        person=True,
    )
    assert (same.score, same.how) == (100, "email")
    apart = compare(
        profile_of(["Wang Wei"], emails=["wang@a.example"], person=True),
        profile_of(["Wang Wei"], emails=["wang@b.example"], person=True),
        person=True,
    )
    assert apart.score == 80  # the same name, but two addresses: less likely one person


def test_the_record_s_own_city_counts_as_a_bracketed_place():
    with_city = profile_of(["Acme Robotics (Leicester)"], cities=["Leicester, England"])
    without = profile_of(["Acme Robotics (Leicester)"])
    plain = profile_of(["Acme Robotics Ltd"])
    assert with_city.places == {"leicester"} and compare(with_city, plain).score == 100
    assert compare(without, plain).score < THRESHOLD


def test_legal_forms_before_a_number_and_company_limited():
    assert latin_tokens("Dalian Robotics Technology Company Limited 4789 Ltd") == [
        "dalian",
        "robotics",
        "technology",
        "4789",
    ]
    assert latin_tokens("Acme Group 2") == ["acme", "2"]
    assert (
        score(
            "Dalian Robotics Technology Co., Ltd 4789",
            "DALIAN ROBOTICS TECHNOLOGY COMPANY LIMITED 4789",
        )
        == 100
    )
